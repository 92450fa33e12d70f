import Foundation
import JournalStore
import MemoryModel
import Memslots

/// Turns `strace -f -ttt -e trace=ioctl -e kvm=vcpu -o LOG VMM…` output into
/// journal contents — the channel for statically linked VMMs, which an
/// `LD_PRELOAD` interposer cannot enter.
///
/// The memory-region calls become transactions by the rule every outside channel
/// shares (`IoctlTransactions`) and their host addresses backings (`HostBackings`),
/// so a strace, a QEMU trace and a capture of one run give the same slot
/// operations. A call strace split (`<unfinished ...>` … `<... ioctl resumed>`) is
/// joined by pid. Exits are counted by reason, and per transaction window (the
/// time from its first call to its last); strace shows no GPA, so none can be
/// told spurious.
public enum StraceImporter {
    public struct Result: Sendable {
        public var contents: JournalContents
        public var calls: Int
        /// Exits `KVM_RUN` returned with, by reason: all of them, and those inside a transaction window.
        public var exits: [String: (total: Int, inWindows: Int)]
        /// Transactions during whose window some vCPU exited.
        public var windowsWithExits: Int
        public var skipped: [(line: Int, detail: String)]
    }

    /// Whether the first lines look like `strace -f -ttt` output with KVM ioctls.
    public static func looksLikeStrace(_ firstLines: [Substring]) -> Bool {
        firstLines.contains { $0.contains(" ioctl(") && $0.contains("KVM_") && (try? StraceLine.parse($0)) != nil }
    }

    public static func read(_ path: String, lenient: Bool = false) throws(JournalError) -> Result {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missing(path: path) }
        guard data.count <= 1 << 30 else { throw .badData(path: path, detail: "log larger than 1 GiB") }
        let text = String(decoding: data, as: UTF8.self)
        var calls: [(line: Int, time: UInt64, region: StraceLine.Region, result: Int32)] = []
        var exits: [(time: UInt64, reason: String)] = []
        var skipped: [(Int, String)] = []
        /// What each pid has left unfinished: the line, its time (the call's start,
        /// as strace stamps whole calls) and, for a region call, its argument.
        var unfinished: [Int: (line: Int, time: UInt64, region: StraceLine.Region?, run: Bool)] = [:]

        func fail(_ line: Int, _ detail: String) throws(JournalError) {
            guard lenient else {
                throw .malformedLog(path: path, line: line, detail: "\(detail); fix the line or import with --lenient to skip it")
            }
            skipped.append((line, detail))
        }
        for (index, lineText) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let parsed: StraceLine?
            do { parsed = try StraceLine.parse(lineText) } catch {
                try fail(number, error.detail)
                continue
            }
            guard let parsed else { continue }
            let pid = parsed.pid
            if case .resumed = parsed.event {} else if let open = unfinished[pid] {
                try fail(open.line, "pid \(pid)'s call is never resumed (line \(number) starts another); the log is cut or interleaved")
                unfinished[pid] = nil
            }
            switch parsed.event {
            case .region(let region, let result): calls.append((number, parsed.timeNs, region, result))
            case .regionStarted(let region): unfinished[pid] = (number, parsed.timeNs, region, false)
            case .runStarted: unfinished[pid] = (number, parsed.timeNs, nil, true)
            case .other(let pending): if pending { unfinished[pid] = (number, parsed.timeNs, nil, false) }
            case .run(let result, let exit):
                if result == 0, let exit { exits.append((parsed.timeNs, exit)) }
            case .resumed(let result, let exit):
                guard let open = unfinished.removeValue(forKey: pid) else {
                    try fail(number, "a resumed call of pid \(pid) that no line started; the log is cut or interleaved")
                    continue
                }
                if let region = open.region {
                    guard let result else {
                        try fail(open.line, "pid \(pid)'s KVM_SET_USER_MEMORY_REGION never returned (the process ended inside it)")
                        continue
                    }
                    calls.append((open.line, open.time, region, result))
                }
                if open.run, result == 0, let exit { exits.append((parsed.timeNs, exit)) }
            }
        }
        for (pid, open) in unfinished.sorted(by: { $0.value.line < $1.value.line }) where open.region != nil {
            try fail(open.line, "pid \(pid)'s KVM_SET_USER_MEMORY_REGION never returned in the log")
        }
        guard !calls.isEmpty else {
            throw .unrecognized(
                path: path,
                detail: "no KVM_SET_USER_MEMORY_REGION calls in \(path); record it with strace -f -ttt -e trace=ioctl -e kvm=vcpu -o LOG")
        }

        let name = (path as NSString).lastPathComponent
        var backings = HostBackings()
        var transactions = IoctlTransactions()
        var records: [TransactionRecord] = []
        for call in calls.sorted(by: { $0.time < $1.time }) {
            guard let request = MemoryRegionCall.Request(gpa: call.region.gpa, size: call.region.size) else {
                throw .malformedLog(path: path, line: call.line, detail: "impossible range")
            }
            let memoryCall = MemoryRegionCall(
                slot: SlotID(rawValue: call.region.slot), flags: SlotFlags(rawValue: call.region.flags), request: request,
                host: backings.locate(call.region.userspaceAddress, size: call.region.size).location,
                errno: call.result < 0 ? -call.result : 0, timeNs: call.time, name: "\(name):\(call.line)")
            if let closed = transactions.add(memoryCall) { records.append(closed) }
        }
        if let closed = transactions.close() { records.append(closed) }

        // Exits per reason, and which fall inside a transaction window (first call to last).
        var counts: [String: (total: Int, inWindows: Int)] = [:]
        var windowsHit = Set<UInt64>()
        let windows = records.map { (begin: $0.beginNs, end: $0.commitNs, sequence: $0.sequence) }
        for exit in exits {
            var entry = counts[exit.reason] ?? (0, 0)
            entry.total += 1
            // The last window that began at or before the exit.
            var low = 0, high = windows.count
            while low < high {
                let middle = (low + high) / 2
                if windows[middle].begin <= exit.time { low = middle + 1 } else { high = middle }
            }
            if low > 0, exit.time <= windows[low - 1].end {
                entry.inWindows += 1
                windowsHit.insert(windows[low - 1].sequence)
            }
            counts[exit.reason] = entry
        }

        let header = JournalHeader(
            backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil, seed: nil,
            commandLine: ["memjournal"] + OutsideChannel.strace.commandWords + [path], cleanClose: true)
        let contents = JournalContents(
            header: header, backings: backings.descriptors, regions: [:], records: records, cutOff: [], faults: [],
            recorderStatistics: nil)
        return Result(contents: contents, calls: calls.count, exits: counts, windowsWithExits: windowsHit.count,
                      skipped: skipped)
    }
}
