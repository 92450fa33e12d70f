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

    /// The merge walk of the reference: both lists are sorted by start address, so
    /// advancing whichever range starts lower finds an overlap in O(n + m) if one
    /// exists. Like the reference, it considers every deleted and added section,
    /// slot-backed or not.
    public static func decide(deletes: [GuestRange], adds: [GuestRange]) -> OverlapDecision {
        var i = 0, j = 0
        while i < deletes.count, j < adds.count {
            if deletes[i].overlaps(adds[j]) {
                return OverlapDecision(pair: Pair(deleteIndex: i, addIndex: j, deleted: deletes[i], added: adds[j]))
            }
            if deletes[i].start < adds[j].start { i += 1 } else { j += 1 }
        }
        return OverlapDecision(pair: nil)
    }
}
