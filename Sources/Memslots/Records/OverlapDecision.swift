import MemoryModel

/// Whether a transaction's deletes overlap its adds — the question that decides
/// whether ioctls must be inhibited — and, if so, the first overlapping pair.
public struct OverlapDecision: Hashable, Sendable {
    /// Index into the transaction's deletes and adds (in arrival order) of the first
    /// overlapping pair the merge walk met, or nil when nothing overlaps.
    public var pair: Pair?

    public struct Pair: Hashable, Sendable {
        public var deleteIndex: Int
        public var addIndex: Int
        public var deleted: GuestRange
        public var added: GuestRange

        public init(deleteIndex: Int, addIndex: Int, deleted: GuestRange, added: GuestRange) {
            self.deleteIndex = deleteIndex
            self.addIndex = addIndex
            self.deleted = deleted
            self.added = added
        }
    }

    public init(pair: Pair?) { self.pair = pair }

    public var overlaps: Bool { pair != nil }

    /// The merge walk of the reference: both lists in start-address order, so
    /// advancing whichever range starts lower finds an overlap in O(n + m) if one
    /// exists. Like the reference, it considers every deleted and added section,
    /// slot-backed or not. The lists are given in arrival order and the pair names
    /// them by arrival index; a listener's sections arrive in address order already
    /// (checked, not sorted, on the commit path), an ioctl trace's need not.
    public static func decide(deletes: [GuestRange], adds: [GuestRange]) -> OverlapDecision {
        let d = addressOrder(deletes), a = addressOrder(adds)
        var i = 0, j = 0
        while i < deletes.count, j < adds.count {
            let (x, y) = (d?[i] ?? i, a?[j] ?? j)
            if deletes[x].overlaps(adds[y]) {
                return OverlapDecision(pair: Pair(deleteIndex: x, addIndex: y, deleted: deletes[x], added: adds[y]))
            }
            if deletes[x].start < adds[y].start { i += 1 } else { j += 1 }
        }
        return OverlapDecision(pair: nil)
    }

    /// The indices of `ranges` in address order (equal ranges by arrival), or nil
    /// when they are in that order already.
    private static func addressOrder(_ ranges: [GuestRange]) -> [Int]? {
        guard zip(ranges, ranges.dropFirst()).contains(where: { $1 < $0 }) else { return nil }
        return ranges.indices.sorted { (ranges[$0], $0) < (ranges[$1], $1) }
    }
}

extension OverlapDecision.Pair {
    /// The pair that names delete `deleteIndex` and add `addIndex` of `sections`
    /// (counting only sections of that kind, in arrival order), with their
    /// ranges; nil when the transaction has no such delete or add.
    public init?(naming deleteIndex: Int, _ addIndex: Int, of sections: [SectionChange]) {
        let deletes = sections.lazy.filter { $0.kind == .delete }, adds = sections.lazy.filter { $0.kind == .add }
        guard deleteIndex >= 0, addIndex >= 0,
              let deleted = deletes.dropFirst(deleteIndex).first, let added = adds.dropFirst(addIndex).first
        else { return nil }
        self.init(deleteIndex: deleteIndex, addIndex: addIndex, deleted: deleted.section.range,
                  added: added.section.range)
    }
}
