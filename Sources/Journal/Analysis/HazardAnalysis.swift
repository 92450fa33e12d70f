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

    /// Analyses `records` in order, following each address space's slots through
    /// their successful operations.
    public static func analyse(_ records: [TransactionRecord]) -> Report {
        var slots: [UInt16: [SlotID: Memslot]] = [:]
        var result: [TransactionHazards] = []
        for record in records {
            var table = slots[record.addressSpace] ?? [:]
            let before = coverage(table.values)
            // Where each range went unmapped (op index), and where it came back.
            var opened = OpenGaps()
            var pieces: [Window] = []
            var endNs: [UInt64] = []
            var clock: UInt64 = 0
            for (index, op) in record.slotOps.enumerated() {
                clock &+= op.durationNs
                endNs.append(clock)
                guard op.succeeded else { continue }
                switch op.kind {
                case .delete:
                    if let old = table.removeValue(forKey: op.slot) { opened.add(old.range, op: index) }
                case .create, .move:
                    if let old = table[op.slot], old.range != op.range { opened.add(old.range, op: index) }
                    table[op.slot] = Memslot(id: op.slot, range: op.range, host: op.host, flags: op.flags)
                    for gap in opened.overlapping(op.range) where gap.op < index {
                        if let piece = gap.range.intersection(op.range) {
                            pieces.append(Window(range: piece, unmappedAfter: gap.op, remappedBy: index, durationNs: nil))
                        }
                    }
                case .flags:
                    if var old = table[op.slot] {
                        old.flags = op.flags
                        table[op.slot] = old
                    }
                case .dirtyLog:
                    break
                }
            }
            slots[record.addressSpace] = table
            let stable = intersect(before, coverage(table.values))
            let timed = record.slotOps.contains { $0.durationNs > 0 }
            var windows: [Window] = []
            for piece in pieces {
                for part in clip(piece.range, to: stable) {
                    var window = piece
                    window.range = part
                    if timed { window.durationNs = endNs[piece.remappedBy] &- endNs[piece.unmappedAfter] }
                    windows.append(window)
                }
            }
            if !windows.isEmpty {
                result.append(TransactionHazards(
                    sequence: record.sequence, addressSpace: record.addressSpace, inhibited: record.timing.inhibited,
                    windows: merge(windows)))
            }
        }
        return Report(transactions: result)
    }

    /// Ranges unmapped so far in a transaction, searchable by address. The listener
    /// (and QEMU) issue all deletes before the adds, so sorting once when the adds
    /// begin keeps a 32,000-slot remap linear-logarithmic.
    struct OpenGaps {
        private var gaps: [(range: GuestRange, op: Int)] = []
        private var sorted = true
        private var disjoint = true

        mutating func add(_ range: GuestRange, op: Int) {
            gaps.append((range, op))
            sorted = false
        }

        mutating func overlapping(_ range: GuestRange) -> ArraySlice<(range: GuestRange, op: Int)> {
            if !sorted {
                gaps.sort { $0.range < $1.range }
                disjoint = zip(gaps, gaps.dropFirst()).allSatisfy { $0.range.last < $1.range.start }
                sorted = true
            }
            guard disjoint else { return gaps[...] }
            var low = 0, high = gaps.count
            while low < high {
                let mid = (low + high) / 2
                if gaps[mid].range.last < range.start { low = mid + 1 } else { high = mid }
            }
            var end = low
            while end < gaps.count, gaps[end].range.start <= range.last { end += 1 }
            return gaps[low..<end]
        }
    }

    /// The union of slot ranges, sorted and merged.
    static func coverage<S: Sequence>(_ slots: S) -> [GuestRange] where S.Element == Memslot {
        var merged: [GuestRange] = []
        for range in slots.map(\.range).sorted() {
            if let last = merged.last, last.end.map({ range.start <= $0 }) ?? true {
                if range.last > last.last { merged[merged.count - 1] = try! GuestRange(start: last.start, last: range.last) }
            } else {
                merged.append(range)
            }
        }
        return merged
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
