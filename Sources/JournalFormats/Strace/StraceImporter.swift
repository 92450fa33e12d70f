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
        /// The most calls and exits the reading kept in memory at once (those
        /// waiting for their turn, and those taken but not yet compacted away):
        /// what was in flight, not what was read.
        var mostHeld = 0
    }

    /// Whether the first lines look like `strace -f -ttt` output with KVM ioctls.
    public static func looksLikeStrace(_ firstLines: [Substring]) -> Bool {
        firstLines.contains { $0.contains(" ioctl(") && $0.contains("KVM_") && (try? StraceLine.parse($0)) != nil }
    }

    /// What `importFile` wrote.
    public struct Imported: Sendable {
        public var calls: Int
        public var transactions: Int
        public var backings: Int
        /// Exits `KVM_RUN` returned with, by reason: all of them, and those inside a transaction window.
        public var exits: [String: (total: Int, inWindows: Int)]
        /// Transactions during whose window some vCPU exited.
        public var windowsWithExits: Int
        public var skipped: [(line: Int, detail: String)]
    }

    /// The log at `path` as journal contents, in memory.
    public static func read(_ path: String, lenient: Bool = false) throws(JournalError) -> Result {
        let (contents, walked) = try OutsideChannel.strace.importContents(path) { take throws(JournalError) in
            let walked = try walk(path, lenient: lenient, take)
            return (walked, walked.backings)
        }
        return Result(contents: contents, calls: walked.calls, exits: walked.exits, windowsWithExits: walked.windowsWithExits,
                      skipped: walked.skipped, mostHeld: walked.mostHeld)
    }

    /// Writes the log at `path` as a new journal at `output`, each transaction as
    /// soon as no call still to come can belong before it, so memory does not
    /// grow with the log. A failure leaves nothing at `output`.
    public static func importFile(_ path: String, to output: String, lenient: Bool = false) throws(JournalError)
        -> Imported
    {
        let imported = try OutsideChannel.strace.importJournal(path, to: output) { take throws(JournalError) in
            let walked = try walk(path, lenient: lenient, take)
            return (walked, walked.backings)
        }
        let walked = imported.found
        return Imported(calls: walked.calls, transactions: imported.transactions, backings: imported.backings,
                        exits: walked.exits, windowsWithExits: walked.windowsWithExits, skipped: walked.skipped)
    }

    /// What a walk of a log found besides its transactions.
    private struct Walked {
        var calls = 0
        var exits: [String: (total: Int, inWindows: Int)] = [:]
        var windowsWithExits = 0
        var backings: [BackingDescriptor] = []
        var skipped: [(line: Int, detail: String)] = []
        var mostHeld = 0
    }

    /// A memory-region call that returned: the line that started it, and when.
    private struct Call: Timed {
        var line: Int
        var time: UInt64
        var region: StraceLine.Region
        var result: Int32
    }

    /// An exit `KVM_RUN` returned with, and when.
    private struct Exit: Timed {
        var time: UInt64
        var reason: String
    }

    /// A transaction's window (its first call to its last), and whether an exit fell in it.
    private struct Window {
        var begin: UInt64
        var end: UInt64
        var hit = false
    }

    /// Reads the log line by line and hands each transaction to `take` as it closes.
    ///
    /// Calls go to the transactions in the order of their start times (a call
    /// strace split starts on one line and returns on a later one; ties in the
    /// order they returned). strace writes its lines in time order, so a call
    /// that returned is handed on once no call still to come can start before
    /// it: none of the calls still unfinished, nor any on a later line. Exits
    /// are counted against the windows the same way, once no call still to come
    /// can start at or before them. What is held at any time is what is in
    /// flight: the calls and exits since the earliest unfinished call, and the
    /// open transaction's calls.
    private static func walk(
        _ path: String, lenient: Bool, _ take: (TransactionRecord) throws(JournalError) -> Void
    ) throws(JournalError) -> Walked {
        let name = (path as NSString).lastPathComponent
        var walked = Walked()
        var backings = HostBackings()
        var transactions = IoctlTransactions()
        /// What each pid has left unfinished: the line, its time (the call's start,
        /// as strace stamps whole calls) and, for a region call, its argument.
        var unfinished: [Int: (line: Int, time: UInt64, region: StraceLine.Region?, run: Bool)] = [:]
        /// Calls that returned and wait for their turn, by start time.
        var ready = Waiting<Call>()
        /// Exits not yet counted, in the order of the log.
        var exits = Waiting<Exit>()
        /// Closed transactions' windows an exit still to be counted may fall in, by begin.
        var windows: [Window] = []
        /// Whether an exit fell in the open transaction's window so far.
        var openHit = false
        /// Exits after the open transaction's last call so far (and before any call
        /// still to come), by reason: inside its window if the next call joins it,
        /// outside if that call starts another or none comes. Counted, never listed.
        var undecided: [String: Int] = [:]
        var calls = 0

        func fail(_ line: Int, _ detail: String) throws(JournalError) {
            guard lenient else {
                throw .malformedLog(path: path, line: line, detail: "\(detail); fix the line or import with --lenient to skip it")
            }
            walked.skipped.append((line, detail))
        }
        func returned(_ call: Call) {
            calls += 1
            ready.insert(call)
        }
        func closed(_ record: TransactionRecord) throws(JournalError) {
            // Its window ended at its last call: the exits after that were outside it.
            windows.append(Window(begin: record.beginNs, end: record.commitNs, hit: openHit))
            openHit = false
            undecided.removeAll()
            try take(record)
        }
        /// Hands on the waiting calls that started at or before `time` (nil: all).
        func handOn(through time: UInt64?) throws(JournalError) {
            while let call = ready.popFirst(if: { call in time.map { call.time <= $0 } ?? true }) {
                guard let request = MemoryRegionCall.Request(gpa: call.region.gpa, size: call.region.size) else {
                    throw .malformedLog(path: path, line: call.line, detail: "impossible range")
                }
                let memoryCall = MemoryRegionCall(
                    slot: SlotID(rawValue: call.region.slot), flags: SlotFlags(rawValue: call.region.flags), request: request,
                    host: backings.locate(call.region.userspaceAddress, size: call.region.size).location,
                    errno: call.result < 0 ? -call.result : 0, timeNs: call.time, name: "\(name):\(call.line)")
                if let record = transactions.add(memoryCall) {
                    try closed(record)
                } else if !undecided.isEmpty {
                    // The call joined the open transaction: its window now reaches past them.
                    for (reason, count) in undecided { walked.exits[reason, default: (0, 0)].inWindows += count }
                    openHit = true
                    undecided.removeAll()
                }
            }
        }
        /// Counts the exits, in log order, that happened before `time` (nil: all),
        /// each in the last window that began at or before it if it ended after —
        /// the open transaction's when it began at or before the exit (decided
        /// once its next call is known, if the exit came after its last call so
        /// far); then forgets the windows no later exit can fall in.
        func count(before time: UInt64?) {
            while let exit = exits.popFirst(if: { exit in time.map { exit.time < $0 } ?? true }) {
                var entry = walked.exits[exit.reason] ?? (0, 0)
                entry.total += 1
                defer { walked.exits[exit.reason] = entry }
                if let begin = transactions.open.first?.timeNs, begin <= exit.time {
                    if let last = transactions.open.last?.timeNs, exit.time <= last {
                        entry.inWindows += 1
                        openHit = true
                    } else {
                        undecided[exit.reason, default: 0] += 1
                    }
                    continue
                }
                var low = 0, high = windows.count
                while low < high {
                    let middle = (low + high) / 2
                    if windows[middle].begin <= exit.time { low = middle + 1 } else { high = middle }
                }
                if low > 0, exit.time <= windows[low - 1].end {
                    entry.inWindows += 1
                    windows[low - 1].hit = true
                }
            }
            // A window followed by one that began at or before every exit still to count is done with.
            let floor = exits.first.map { min($0.time, time ?? .max) } ?? time
            var done = 0
            while done + 1 < windows.count, floor.map({ windows[done + 1].begin <= $0 }) ?? true {
                if windows[done].hit { walked.windowsWithExits += 1 }
                done += 1
            }
            if done > 0 { windows.removeFirst(done) }
        }

        try TextFile.forEachLine(path, maxLineBytes: maxLineBytes, lastLineMayBeOpen: true) {
            (bytes: [UInt8], number: Int) throws(JournalError) in
            let text = number == 1 && bytes.starts(with: TextFile.byteOrderMark)
                ? String(decoding: bytes.dropFirst(3), as: UTF8.self) : String(decoding: bytes, as: UTF8.self)
            let parsed: StraceLine?
            do throws(StraceLine.Failure) { parsed = try StraceLine.parse(text[...]) } catch {
                try fail(number, error.detail)
                return
            }
            guard let parsed else { return }
            let pid = parsed.pid
            if case .resumed = parsed.event {} else if let open = unfinished[pid] {
                try fail(open.line, "pid \(pid)'s call is never resumed (line \(number) starts another); the log is cut or interleaved")
                unfinished[pid] = nil
            }
            switch parsed.event {
            case .region(let region, let result): returned(Call(line: number, time: parsed.timeNs, region: region, result: result))
            case .regionStarted(let region): unfinished[pid] = (number, parsed.timeNs, region, false)
            case .runStarted: unfinished[pid] = (number, parsed.timeNs, nil, true)
            case .other(let pending): if pending { unfinished[pid] = (number, parsed.timeNs, nil, false) }
            case .run(let result, let exit):
                if result == 0, let exit { exits.append(Exit(time: parsed.timeNs, reason: exit)) }
            case .resumed(let result, let exit):
                guard let open = unfinished.removeValue(forKey: pid) else {
                    try fail(number, "a resumed call of pid \(pid) that no line started; the log is cut or interleaved")
                    return
                }
                if let region = open.region {
                    guard let result else {
                        try fail(open.line, "pid \(pid)'s KVM_SET_USER_MEMORY_REGION never returned (the process ended inside it)")
                        return
                    }
                    returned(Call(line: open.line, time: open.time, region: region, result: result))
                }
                if open.run, result == 0, let exit { exits.append(Exit(time: parsed.timeNs, reason: exit)) }
            }
            // Every call still to come starts at or after this line, or is unfinished now.
            var earliest = parsed.timeNs
            for open in unfinished.values where open.region != nil { earliest = min(earliest, open.time) }
            try handOn(through: earliest)
            // A call still to come is a waiting one, or later.
            if let waiting = ready.first { earliest = min(earliest, waiting.time) }
            count(before: earliest)
            walked.mostHeld = max(walked.mostHeld, ready.kept + exits.kept)
        }
        for (pid, open) in unfinished.sorted(by: { $0.value.line < $1.value.line }) where open.region != nil {
            try fail(open.line, "pid \(pid)'s KVM_SET_USER_MEMORY_REGION never returned in the log")
        }
        guard calls > 0 else {
            throw .unrecognized(
                path: path,
                detail: "no KVM_SET_USER_MEMORY_REGION calls in \(path); record it with strace -f -ttt -e trace=ioctl -e kvm=vcpu -o LOG")
        }
        try handOn(through: nil)
        count(before: nil)
        if let record = transactions.close() { try closed(record) }
        walked.windowsWithExits += windows.filter(\.hit).count
        walked.calls = calls
        walked.backings = backings.descriptors
        return walked
    }

    /// Longest line read: far beyond any strace line of an ioctl; a longer one
    /// is refused with its number.
    static let maxLineBytes = 16 << 20
}

/// Something that happened at a time (a call's start, an exit).
private protocol Timed {
    var time: UInt64 { get }
}

/// What waits its turn, taken from the front: appended in arrival order, or
/// inserted by time (after every item of the same time or earlier). The array
/// is compacted when drained or once 1,024 were taken — the item of the line
/// just read often waits for the next line, so it may never drain — and so
/// holds what waits plus at most that many.
private struct Waiting<Item: Timed> {
    private var items: [Item] = []
    private var head = 0

    /// The next item, if any.
    var first: Item? { head < items.count ? items[head] : nil }

    /// Items in memory: those waiting, and those taken but not yet compacted away.
    var kept: Int { items.count }

    mutating func append(_ item: Item) { items.append(item) }

    mutating func insert(_ item: Item) {
        var low = head, high = items.count
        while low < high {
            let middle = (low + high) / 2
            if items[middle].time <= item.time { low = middle + 1 } else { high = middle }
        }
        items.insert(item, at: low)
    }

    /// Takes the next item if `ready` says it may go.
    mutating func popFirst(if ready: (Item) -> Bool) -> Item? {
        guard let item = first, ready(item) else { return nil }
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
