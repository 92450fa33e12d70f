import JournalStore
import MemoryModel
import Memslots

/// Non-atomic windows: guest-physical ranges that a transaction leaves mapped
/// before and after, but that are unmapped between two of its slot operations —
/// where a running vCPU takes a spurious fault.
public enum HazardAnalysis {
    /// One window in one transaction.
    public struct Window: Hashable, Sendable {
        public var range: GuestRange
        /// The operation after which the range was unmapped, and the one that mapped it again.
        public var unmappedAfter: Int
        public var remappedBy: Int
        /// The window's length from the operations' times, when the journal has them.
        public var durationNs: UInt64?
    }

    public struct TransactionHazards: Hashable, Sendable {
        public var sequence: UInt64
        public var addressSpace: UInt16
        /// With the inhibit, no vCPU could run in these windows.
        public var inhibited: Bool
        public var windows: [Window]
    }

    public struct Report: Hashable, Sendable {
        public var transactions: [TransactionHazards]
        public var windows: Int { transactions.reduce(0) { $0 + $1.windows.count } }
        /// Windows a running vCPU could fall into (not covered by an inhibit).
        public var unprotected: Int { transactions.filter { !$0.inhibited }.reduce(0) { $0 + $1.windows.count } }
        public var longestNs: UInt64? { transactions.flatMap(\.windows).compactMap(\.durationNs).max() }
    }

    /// The report's totals, counted as the walk goes (what a journal of any
    /// length can say without keeping its hazards).
    public struct Summary: Hashable, Sendable {
        /// Transactions with a window.
        public var transactions = 0
        public var windows = 0
        public var unprotected = 0
        public var longestNs: UInt64?

        mutating func add(_ t: TransactionHazards) {
            transactions += 1
            windows += t.windows.count
            if !t.inhibited { unprotected += t.windows.count }
            for ns in t.windows.compactMap(\.durationNs) { longestNs = max(longestNs ?? 0, ns) }
        }
    }

    /// Analyses `records` in order, following each address space's slots through
    /// the history reducer.
    public static func analyse<S: Sequence>(_ records: S) -> Report where S.Element == TransactionRecord {
        var walker = Walker()
        for record in records { walker.add(record) }
        return walker.report
    }

    /// The analysis fed one transaction at a time, in order (a journal streamed
    /// from disk): it holds the slot tables and the transactions that have
    /// windows, never the history.
    public struct Walker {
        /// The history folded so far (every record given to `add`), for a caller
        /// that also needs the maps: it need not fold them a second time.
        public private(set) var history = HistoryReducer()
        private var result: [TransactionHazards] = []
        /// Whether `report` is wanted: without it, each transaction's hazards are
        /// only returned by `add`, and nothing is kept.
        private let keeping: Bool

        public init(keepingReport: Bool = true) { keeping = keepingReport }

        public var report: Report { Report(transactions: result) }
        public private(set) var summary = Summary()

        /// Folds `record` in; returns its hazards, nil when it has no window.
        @discardableResult
        public mutating func add(_ record: TransactionRecord) -> TransactionHazards? {
            let before = history.coverage(addressSpace: record.addressSpace)
            let effect = history.apply(record)
            let pieces = effect.windows
            guard !pieces.isEmpty else { return nil }
            let stable = intersect(before, history.coverage(addressSpace: record.addressSpace))
            // Each operation's end time within the transaction, when the journal has times.
            let timed = record.slotOps.contains { $0.durationNs > 0 }
            var endNs: [UInt64] = []
            var clock: UInt64 = 0
            for op in record.slotOps {
                clock &+= op.durationNs
                endNs.append(clock)
            }
            var windows: [Window] = []
            for piece in pieces {
                for part in clip(piece.range, to: stable) {
                    windows.append(Window(
                        range: part, unmappedAfter: piece.unmappedAfter, remappedBy: piece.remappedBy,
                        durationNs: timed ? endNs[piece.remappedBy] &- endNs[piece.unmappedAfter] : nil))
                }
            }
            guard !windows.isEmpty else { return nil }
            let hazards = TransactionHazards(
                sequence: record.sequence, addressSpace: record.addressSpace, inhibited: record.timing.inhibited,
                windows: merge(windows))
            if keeping { result.append(hazards) }
            summary.add(hazards)
            return hazards
        }
    }

    /// Intersection of two sorted, disjoint lists.
    static func intersect(_ a: [GuestRange], _ b: [GuestRange]) -> [GuestRange] {
        var i = 0, j = 0
        var result: [GuestRange] = []
        while i < a.count, j < b.count {
            if let common = a[i].intersection(b[j]) { result.append(common) }
            if a[i].last < b[j].last { i += 1 } else { j += 1 }
        }
        return result
    }

    /// The parts of `range` inside a sorted, disjoint list.
    static func clip(_ range: GuestRange, to list: [GuestRange]) -> [GuestRange] {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].last < range.start { low = mid + 1 } else { high = mid }
        }
        var parts: [GuestRange] = []
        while low < list.count, list[low].start <= range.last {
            if let part = list[low].intersection(range) { parts.append(part) }
            low += 1
        }
        return parts
    }

    /// Windows sorted by address; identical or overlapping duplicates (a range
    /// unmapped twice) folded into the earliest unmap and the latest remap.
    static func merge(_ windows: [Window]) -> [Window] {
        var result: [Window] = []
        for window in windows.sorted(by: { $0.range < $1.range }) {
            if let last = result.last, last.range.overlaps(window.range) {
                var folded = last
                folded.range = try! GuestRange(start: last.range.start, last: max(last.range.last, window.range.last))
                folded.unmappedAfter = min(last.unmappedAfter, window.unmappedAfter)
                folded.remappedBy = max(last.remappedBy, window.remappedBy)
                if let a = last.durationNs, let b = window.durationNs { folded.durationNs = max(a, b) }
                result[result.count - 1] = folded
            } else {
                result.append(window)
            }
        }
        return result
    }
}

extension JournalReader {
    /// The non-atomic windows of this journal's complete transactions, each
    /// transaction's handed to `body` as the journal is walked a window at a
    /// time (neither the history nor its hazards are held); returns the totals.
    @discardableResult
    public func forEachHazard(_ body: (HazardAnalysis.TransactionHazards) throws(JournalError) -> Void = { _ in })
        throws(JournalError) -> HazardAnalysis.Summary
    {
        var walker = HazardAnalysis.Walker(keepingReport: false)
        try forEachRecord { (record) throws(JournalError) in
            if let hazards = walker.add(record) { try body(hazards) }
        }
        return walker.summary
    }
}
