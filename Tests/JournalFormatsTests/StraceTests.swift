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

    /// A random log of two threads calling KVM_SET_USER_MEMORY_REGION (whole and
    /// split, so a call that started first may return last) and two vCPUs
    /// exiting, its times rising by 0–3 µs a line (ties included).
    static func randomLog(seed: UInt64, lines: Int, exitsAfter: Int = 0) -> String {
        var rng = SeededRandom(seed: seed)
        var micros: UInt64 = 10_000_000
        var open: [Int: Bool] = [:]  // pid → whether its unfinished call is a KVM_RUN
        var text = ""
        for _ in 0..<lines {
            micros += rng.next() % 4
            let time = "\(micros / 1_000_000).\(String(format: "%06d", Int(micros % 1_000_000)))"
            let pid = [100, 101, 200, 201][Int(rng.next() % 4)]
            if let run = open.removeValue(forKey: pid) {
                text += run ? "\(pid) \(time) <... ioctl resumed>, 0) = 0 (KVM_EXIT_\(rng.next() % 2 == 0 ? "MMIO" : "IO"))\n"
                    : "\(pid) \(time) <... ioctl resumed>) = \(rng.next() % 5 == 0 ? "-1 EEXIST (File exists)" : "0")\n"
            } else if pid >= 200 {
                if rng.next() % 3 == 0 {
                    text += "\(pid) \(time) ioctl(12, KVM_RUN <unfinished ...>\n"
                    open[pid] = true
                } else {
                    text += "\(pid) \(time) ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_MMIO)\n"
                }
            } else {
                let gpa = "0x\(String((rng.next() % 4) * 0x200000, radix: 16))"
                let size = ["0", "1048576", "2097152"][Int(rng.next() % 3)]
                let split = rng.next() % 2 == 0
                text += Self.line(pid, time, slot: Int(rng.next() % 3), gpa: gpa, size: size,
                                  ending: split ? " <unfinished ...>" : ") = 0") + "\n"
                if split { open[pid] = false }
            }
        }
        for (pid, run) in open.sorted(by: { $0.key < $1.key }) {
            micros += 1
            text += "\(pid) \(micros / 1_000_000).\(String(format: "%06d", Int(micros % 1_000_000))) <... ioctl resumed>"
                + (run ? ", 0) = 0 (KVM_EXIT_IO)\n" : ") = 0\n")
        }
        // The VM running on after its last memory-region call: exits only.
        for index in 0..<exitsAfter {
            micros += 1 + rng.next() % 3
            text += "\(200 + index % 2) \(micros / 1_000_000).\(String(format: "%06d", Int(micros % 1_000_000))) "
                + "ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_IO)\n"
        }
        return text
    }

    /// The log read whole, the way the importer read it before it streamed: every
    /// call, sorted by start time (ties in the order they returned), then grouped;
    /// every exit placed in its window by a search over all of them.
    static func readWhole(_ text: String, name: String)
        -> (records: [TransactionRecord], exits: [String: (total: Int, inWindows: Int)], windowsHit: Int, reordered: Bool)
    {
        var calls: [(time: UInt64, line: Int, region: StraceLine.Region, result: Int32)] = []
        var exits: [(time: UInt64, reason: String)] = []
        var unfinished: [Int: (line: Int, time: UInt64, region: StraceLine.Region?)] = [:]
        for (index, lineText) in text.split(separator: "\n").enumerated() {
            guard let line = try? StraceLine.parse(lineText) else { continue }
            switch line.event {
            case .region(let region, let result): calls.append((line.timeNs, index + 1, region, result))
            case .regionStarted(let region): unfinished[line.pid] = (index + 1, line.timeNs, region)
            case .runStarted: unfinished[line.pid] = (index + 1, line.timeNs, nil)
            case .run(_, let exit): if let exit { exits.append((line.timeNs, exit)) }
            case .resumed(let result, let exit):
                let open = unfinished.removeValue(forKey: line.pid)!
                if let region = open.region { calls.append((open.time, open.line, region, result!)) }
                if let exit { exits.append((line.timeNs, exit)) }
            case .other: break
            }
        }
        let sorted = calls.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var backings = HostBackings()
        var transactions = IoctlTransactions()
        var records: [TransactionRecord] = []
        for call in sorted {
            let memoryCall = MemoryRegionCall(
                slot: SlotID(rawValue: call.region.slot), flags: SlotFlags(rawValue: call.region.flags),
                request: MemoryRegionCall.Request(gpa: call.region.gpa, size: call.region.size)!,
                host: backings.locate(call.region.userspaceAddress, size: call.region.size).location,
                errno: call.result < 0 ? -call.result : 0, timeNs: call.time, name: "\(name):\(call.line)")
            if let closed = transactions.add(memoryCall) { records.append(closed) }
        }
        if let closed = transactions.close() { records.append(closed) }
        var counts: [String: (total: Int, inWindows: Int)] = [:]
        var hit = Set<Int>()
        for exit in exits {
            var entry = counts[exit.reason] ?? (0, 0)
            entry.total += 1
            if let index = records.lastIndex(where: { $0.beginNs <= exit.time }), exit.time <= records[index].commitNs {
                entry.inWindows += 1
                hit.insert(index)
            }
            counts[exit.reason] = entry
        }
        let times = calls.map(\.time)
        return (records, counts, hit.count, times != times.sorted())
    }

    /// The streaming import holds only what is in flight, yet finds what reading
    /// the whole log finds: the same transactions, exits and windows.
    @Test(arguments: 0..<12 as Range<UInt64>)
    func readingAsItStreamsGivesWhatReadingItWholeGives(seed: UInt64) throws {
        // Every other log ends with the VM running on (exits after the last call).
        let text = Self.randomLog(seed: seed, lines: 400 + Int(seed) * 50, exitsAfter: seed % 2 == 0 ? 300 : 0)
        let path = try traceFile(text)
        defer { unlink(path) }
        let streamed = try StraceImporter.read(path)
        let whole = Self.readWhole(text, name: (path as NSString).lastPathComponent)
        try #require(whole.records.count > 5, "test setup: a log with transactions")
        #expect(streamed.contents.records == whole.records)
        #expect(streamed.calls == whole.records.reduce(0) { $0 + $1.slotOps.count })
        #expect(streamed.exits.mapValues { [$0.total, $0.inWindows] } == whole.exits.mapValues { [$0.total, $0.inWindows] })
        #expect(streamed.windowsWithExits == whole.windowsHit)
        // The log has calls that returned out of the order they started in: the
        // ordering the streaming reader must keep is exercised.
        #expect(whole.reordered)
    }

    /// What the reading holds is what is in flight: a VM running on for 6,000
    /// exits after its last memory-region call costs at most the 1,024 counted
    /// exits kept between compactions; a call left unfinished across those exits
    /// (control) holds every one until it returns.
    @Test func exitsAfterTheLastCallAreNotHeld() throws {
        var lines = [Self.line(100, "10.000100", slot: 0, gpa: "0", size: "1048576"),
                     Self.line(100, "10.000200", slot: 1, gpa: "0x200000", size: "4096")]
        func exits(from micros: Int) -> [String] {
            (0..<6_000).map { "201 10.\(String(format: "%06d", micros + $0 * 10)) ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_IO)" }
        }
        let runningOn = try traceFile((lines + exits(from: 1_000)).joined(separator: "\n") + "\n")
        defer { unlink(runningOn) }
        let free = try StraceImporter.read(runningOn)
        #expect(free.exits["KVM_EXIT_IO"]?.total == 6_000 && free.exits["KVM_EXIT_IO"]?.inWindows == 0)
        #expect(free.mostHeld <= 1_026, "held \(free.mostHeld)")

        lines.append(Self.line(100, "10.000300", slot: 2, gpa: "0x400000", size: "4096", ending: " <unfinished ...>"))
        let unfinished = try traceFile((lines + exits(from: 1_000) + ["100 10.070000 <... ioctl resumed>) = 0"])
            .joined(separator: "\n") + "\n")
        defer { unlink(unfinished) }
        let held = try StraceImporter.read(unfinished)
        // The call joins the transaction, whose window ends where that call started: before every exit.
        #expect(held.exits["KVM_EXIT_IO"]?.total == 6_000 && held.exits["KVM_EXIT_IO"]?.inWindows == 0)
        #expect(held.mostHeld >= 6_000, "held \(held.mostHeld)")
    }
}
