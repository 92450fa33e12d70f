import Foundation
import Glibc
import Harness
import Scenarios
import Sync
import Testing
import TestSupport

/// Record writes a journal without keeping what it writes; export (canonical and
/// chrome-trace), the report, the map after a transaction,
/// the hazards, diff and replay walk a journal in windows (diff and replay a
/// JSONL file a line at a time), reduce derives and tests each candidate a
/// transaction at a time, and
/// import writes one as it reads its text (canonical JSONL, a QEMU trace, an strace log): their
/// peak memory does not grow with the history. Measured against a control that holds the whole history
/// (`inspect list --json` reads every transaction before printing), on the
/// same two journals, so the test sees growth where there is growth.
struct StreamingTests {
    /// The peak resident set of `memjournal ARGUMENTS` in kilobytes, which must exit 0:
    /// its own memory's high-water mark (`VmHWM`, which only rises), read every
    /// millisecond until it exits. (wait4's `ru_maxrss` will not do: a spawned
    /// child's count starts from the parent's peak, this whole test process.)
    static func peakKB(_ arguments: [String]) throws -> Int {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv0 = memjournalExecutable
        var argv = ([argv0] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        try #require(posix_spawn(&pid, argv0, &actions, nil, &argv, environ) == 0)
        var peak = 0
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
                peak = max(peak, kilobytes)
            }
            usleep(1_000)
        }
        #expect(status == 0, "memjournal \(arguments.joined(separator: " ")) exited \(status)")
        return peak
    }

    /// A QEMU `kvm_set_user_memory` trace of `transactions` listener
    /// transactions after the first: one slot deleted and added back 2 MiB on.
    static func qemuTrace(transactions: Int) -> String {
        var lines = ["7109@1795620449.000000:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x10000000 ua=0x7f09ffe00000 ret=0"]
        for index in 0..<transactions {
            let micros = 1_795_620_450_000_000 + 100 * (index + 1)
            let fraction = String(micros % 1_000_000)
            let time = "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
            let from = String(0x1_0000_0000 + (index % 7) * 0x20_0000, radix: 16)
            let to = String(0x1_0000_0000 + ((index + 1) % 7) * 0x20_0000, radix: 16)
            lines.append("7109@\(time):kvm_set_user_memory Slot#5 flags=0x0 gpa=0x\(from) size=0x0 ua=0x7f0a00000000 ret=0")
            lines.append("7109@\(time):kvm_set_user_memory Slot#5 flags=0x0 gpa=0x\(to) size=0x100000 ua=0x7f0a00000000 ret=0")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An `strace -f -ttt` log of `transactions` transactions after the first:
    /// one slot deleted and added back 2 MiB on by a call strace split around a
    /// vCPU's exit, and another vCPU exiting between transactions; then twice as
    /// many exits with no memory-region call (the VM running on).
    static func straceLog(transactions: Int) -> String {
        func time(_ micros: Int) -> String {
            let fraction = String(micros % 1_000_000)
            return "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
        }
        func region(_ slot: Int, _ gpa: Int, _ size: Int) -> String {
            "ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=\(slot), flags=0, guest_phys_addr=0x\(String(gpa, radix: 16)), "
                + "memory_size=\(size), userspace_addr=0x7f0a00000000}"
        }
        var lines = ["7109 1795620449.000000 " + region(0, 0, 0x1000_0000) + ") = 0"]
        for index in 0..<transactions {
            let micros = 1_795_620_450_000_000 + 100 * (index + 1)
            let from = 0x1_0000_0000 + (index % 7) * 0x20_0000, to = 0x1_0000_0000 + ((index + 1) % 7) * 0x20_0000
            lines.append("7109 \(time(micros)) " + region(5, from, 0) + ") = 0")
            lines.append("7109 \(time(micros + 10)) " + region(5, to, 0x10_0000) + " <unfinished ...>")
            lines.append("7111 \(time(micros + 20)) ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_MMIO)")
            lines.append("7109 \(time(micros + 30)) <... ioctl resumed>) = 0")
            lines.append("7112 \(time(micros + 60)) ioctl(13, KVM_RUN, 0) = 0 (KVM_EXIT_IO)")
        }
        // The VM runs on after its last memory-region call: exits only, as many again.
        let end = 1_795_620_450_000_000 + 100 * (transactions + 1)
        for index in 0..<transactions * 2 {
            lines.append("7111 \(time(end + 100 + 50 * index)) ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_MMIO)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One of the two histories each command walks: a `random` journal and its
    /// canonical JSONL.
    struct Sizes {
        let dir: TemporaryDirectory
        let transactions: Int
        var journal: String { dir.file("random-\(transactions).journal") }
        var jsonl: String { dir.file("\(transactions).jsonl") }
        func file(_ suffix: String) -> String { dir.file("\(transactions)\(suffix)") }
    }

    /// Each command's peak at both `sizes`, with the two every walk starts from
    /// (`record`, `export`) and the control (`list`); `commands` gives the rest,
    /// by name, for one size. Each test measures its own journals, so the tests
    /// run side by side. At 16,000 transactions a journal (about 2.5 MB at schema
    /// 8's ~155 bytes per transaction) is already larger than SQLite's page cache
    /// (2 MB per connection), so bounded caches are full at both sizes and only
    /// what grows with the history shows as growth.
    static func peaks(sizes: [Int] = [16_000, 40_000], _ commands: (Sizes) throws -> [(String, [String])])
        throws -> [String: [Int]]
    {
        let dir = makeTemporaryDirectory()
        var peaks: [String: [Int]] = ["transactions": sizes]
        for transactions in sizes {
            let sizes = Sizes(dir: dir, transactions: transactions)
            // Recording keeps none of what it records either. Its queue to the
            // writer thread is bounded, but at 4,096 transactions by default (a
            // few MB in a debug build), which a producer faster than the writer
            // fills on one machine and not on another (9,132 KB of growth once on
            // CI's): held to a few hundred here, the bound is below what the test
            // can see, and growth is growth.
            let walks: [(String, [String])] = [
                ("record", [
                    "record", "--scenario", "random", "--vcpus", "1", "--transactions", "\(transactions)", "--seed", "11",
                    "--vcpu-mode", "stepping", "--op-delay-us", "0", "--interval-us", "0", "--writer-queue", "256",
                    "-o", sizes.journal,
                ]),
                ("export", ["export", sizes.journal, "-o", sizes.jsonl]),
                ("list", ["inspect", sizes.journal, "list", "--json"]),
            ]
            for (name, arguments) in try walks + commands(sizes) {
                peaks[name, default: []].append(try peakKB(arguments))
            }
        }
        return peaks
    }

    /// Holding the larger history costs over a kilobyte a transaction more (the
    /// control, about 1.6 KB); streaming it costs next to nothing: each of
    /// `commands` grew less than a tenth of the control's growth (a quarter for
    /// `reduce`, which holds its candidates: tens of bytes a transaction, the
    /// input's sequence numbers and part counts; holding the history was 2.9 KB a
    /// transaction).
    static func expectFlat(_ peaks: [String: [Int]], _ commands: [String]) {
        let growth = peaks.mapValues { $0[1] - $0[0] }
        #expect(growth["list"]! > growth["transactions"]!, "control: \(peaks)")
        for command in commands {
            let factor = command == "reduce" ? 4 : 10
            #expect(growth[command]! * factor < growth["list"]!,
                    "\(command) grew \(growth[command]!) KB, the control \(growth["list"]!) KB: \(peaks)")
        }
    }

    @Test func journalWalksPeakMemoryDoesNotGrowWithTheHistory() throws {
        let peaks = try Self.peaks { sizes in
            [
                ("trace", ["export", sizes.journal, "--format", "chrome-trace", "-o", sizes.file(".trace.json")]),
                ("report", ["report", sizes.journal, "-o", sizes.file(".html")]),
                // The map after transaction N, near the end: the history up to it replayed through the reducer.
                ("map", ["inspect", sizes.journal, "map", "--at", "\(sizes.transactions)"]),
                ("hazards", ["inspect", sizes.journal, "hazards", "--json"]),
                ("diff", ["diff", sizes.journal, sizes.journal]),
                ("replay", ["replay", sizes.journal, "--mode", "slot-ops"]),
            ]
        }
        Self.expectFlat(peaks, ["record", "export", "trace", "report", "map", "hazards", "diff", "replay"])
    }

    @Test func importsPeakMemoryDoesNotGrowWithTheHistory() throws {
        let peaks = try Self.peaks { sizes in
            let trace = sizes.file(".log"), strace = sizes.file(".strace")
            try Self.qemuTrace(transactions: sizes.transactions).write(toFile: trace, atomically: false, encoding: .utf8)
            try Self.straceLog(transactions: sizes.transactions).write(toFile: strace, atomically: false, encoding: .utf8)
            return [
                ("import", ["import", sizes.jsonl, "-o", sizes.file("-imported.journal")]),
                ("qemu-trace import", ["import", "--format", "qemu-trace", trace, "-o", sizes.file("-trace.journal")]),
                ("strace import", ["import", "--format", "strace", strace, "-o", sizes.file("-strace.journal")]),
                // A command that holds for any candidate: ddmin halves the history, each
                // candidate written whole to the command's file (the first is the input).
                ("reduce", ["reduce", sizes.journal, "--keep-cmd", "test -s {}", "-o", sizes.file("-min.jsonl")]),
            ]
        }
        Self.expectFlat(peaks, ["import", "qemu-trace import", "strace import", "reduce"])
    }

    /// JSONL walks read no journal, so no page cache needs filling, and smaller
    /// histories do: a debug build parses JSON about 20 times slower than a
    /// release one, and this test is the longest of `swift test`.
    @Test func jsonlWalksPeakMemoryDoesNotGrowWithTheHistory() throws {
        let peaks = try Self.peaks(sizes: [8_000, 24_000]) { sizes in
            [
                ("diff jsonl", ["diff", sizes.jsonl, sizes.jsonl]),
                ("replay jsonl", ["replay", sizes.jsonl, "--mode", "slot-ops"]),
            ]
        }
        Self.expectFlat(peaks, ["diff jsonl", "replay jsonl"])
    }
}
