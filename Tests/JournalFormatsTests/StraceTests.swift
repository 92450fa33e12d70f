import Foundation
import MemoryModel
import Memslots
import Testing
import TestSupport
@testable import JournalFormats
@testable import JournalStore

/// The strace channel: lines as strace 6.1 prints them, joined, grouped, refused.
@Suite struct StraceTests {
    static let region = "ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=%d, flags=%@, guest_phys_addr=%@, memory_size=%@, userspace_addr=0x7f0ae3e00000})"

    static func line(_ pid: Int, _ time: String, slot: Int, flags: String = "0", gpa: String, size: String,
                     ending: String = ") = 0") -> String {
        "\(pid) \(time) ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=\(slot), flags=\(flags), guest_phys_addr=\(gpa), memory_size=\(size), userspace_addr=0x7f0ae3e00000}" + ending
    }

    @Test func wholeSplitAndExitLinesAreRead() throws {
        let whole = try #require(try StraceLine.parse(Substring(Self.line(16535, "1796288016.553749", slot: 1,
            flags: "KVM_MEM_LOG_DIRTY_PAGES|KVM_MEM_READONLY", gpa: "0xffff0000", size: "65536"))))
        #expect(whole.pid == 16535 && whole.timeNs == 1_796_288_016_553_749_000)
        #expect(whole.event == .region(.init(slot: 1, flags: 3, gpa: 0xffff0000, size: 65536, userspaceAddress: 0x7f0ae3e00000),
                                       result: 0))
        let failed = try #require(try StraceLine.parse(Substring(Self.line(1, "1.000000", slot: 2, gpa: "0", size: "4096",
                                                                            ending: ") = -1 EEXIST (File exists)"))))
        guard case .region(_, let result) = failed.event else { Issue.record("\(failed)"); return }
        #expect(result == -17)
        #expect(try StraceLine.parse("16538 1796288016.691247 <... ioctl resumed>, 0) = 0 (KVM_EXIT_MMIO)")?.event
            == .resumed(result: 0, exit: "KVM_EXIT_MMIO"))
        #expect(try StraceLine.parse("16538 1796288019.157255 ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_IO)")?.event
            == .run(result: 0, exit: "KVM_EXIT_IO"))
        #expect(try StraceLine.parse("16538 1796288016.655800 ioctl(12, KVM_RUN <unfinished ...>")?.event == .runStarted)
        #expect(try StraceLine.parse("16537 1796288016.627239 --- SIGUSR1 {si_signo=SIGUSR1} ---")?.event
            == .other(unfinished: false))
        #expect(try StraceLine.parse("16538 1796288019.161305 <... ioctl resumed> <unfinished ...>) = ?")?.event
            == .resumed(result: nil, exit: nil))
    }

    @Test(arguments: [
        ("ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, fla", "not a line of strace"),
        ("12 1.000000 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, flags=0, guest_phys_addr=0, memory_size=4096",
         "cut short"),
        ("12 1.5 ioctl(3, KVM_GET_API_VERSION, 0) = 12", "bad time"),
        ("12 1.000000 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, flags=KVM_MEM_SHINY, guest_phys_addr=0, memory_size=4096, userspace_addr=0x1000}) = 0",
         "unknown flag"),
        ("12 1.000000 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, flags=0, guest_phys_addr=0xfffffffffffff000, memory_size=8192, userspace_addr=0x1000}) = 0",
         "past 2^64"),
        ("12 1.000000 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, flags=0, guest_phys_addr=0, memory_size=4096, userspace_addr=0x1000}) = -1 EWHATEVER (x)",
         "errno"),
    ])
    func badLinesSayWhy(_ line: String, _ expected: String) {
        #expect { try StraceLine.parse(Substring(line)) } throws: { error in
            (error as? StraceLine.Failure)?.detail.contains(expected) == true
        }
    }

    @Test func aLogBecomesTransactionsAndSplitCallsAreJoined() throws {
        let path = try traceFile([
            "100 10.000000 ioctl(3, KVM_GET_API_VERSION, 0) = 12",
            Self.line(100, "10.000100", slot: 0, gpa: "0", size: "1048576"),
            "101 10.000150 ioctl(12, KVM_RUN <unfinished ...>",
            Self.line(100, "10.000200", slot: 0, gpa: "0", size: "0", ending: " <unfinished ...>"),
            "101 10.000250 <... ioctl resumed>, 0) = 0 (KVM_EXIT_MMIO)",
            "100 10.000300 <... ioctl resumed>) = 0",
            Self.line(100, "10.000400", slot: 0, gpa: "0", size: "2097152"),
            "100 10.000500 +++ exited with 0 +++",
            "",
        ].joined(separator: "\n"))
        defer { unlink(path) }
        let result = try StraceImporter.read(path)
        #expect(result.calls == 3)
        #expect(result.contents.records.map { $0.slotOps.map(\.kind) } == [[.create], [.delete, .create]])
        #expect(result.contents.records.map(\.beginNs) == [10_000_100_000, 10_000_200_000])
        #expect(result.exits["KVM_EXIT_MMIO"]?.total == 1 && result.exits["KVM_EXIT_MMIO"]?.inWindows == 1)
        #expect(result.windowsWithExits == 1)
        #expect(result.contents.header.commandLine.contains("strace"))
        #expect(OutsideChannel(result.contents.header) == .strace)
    }

    @Test func cutInterleavedAndUnknownLinesAreNamedOrSkippedNeverHalfImported() throws {
        let path = try traceFile([
            Self.line(100, "10.000100", slot: 0, gpa: "0", size: "1048576"),
            "101 10.000150 <... ioctl resumed>, 0) = 0 (KVM_EXIT_MMIO)",      // resumed, never started
            "what is this line",                                               // unknown
            Self.line(100, "10.000200", slot: 0, gpa: "0", size: "0", ending: " <unfinished ...>"),
            Self.line(100, "10.000300", slot: 1, gpa: "0x200000", size: "4096"),  // pid 100 starts another call
            "",
        ].joined(separator: "\n"))
        defer { unlink(path) }
        #expect { try StraceImporter.read(path) } throws: { error in
            guard case .malformedLog(let file, let line, let detail) = error as? JournalError else { return false }
            return file == path && line == 2 && detail.contains("no line started")
        }
        let lenient = try StraceImporter.read(path, lenient: true)
        #expect(lenient.skipped.map(\.line) == [2, 3, 4])
        #expect(lenient.calls == 2)
        #expect(throws: JournalError.self) { try StraceImporter.read(try traceFile("100 1.000000 ioctl(3, KVM_RUN, 0) = 0\n")) }
    }
}
