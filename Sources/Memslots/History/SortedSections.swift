import MemoryModel

/// Lookups in a flat view: sections ascending and disjoint, as the address space,
/// the committed map and the history reducer keep them.
extension Array where Element == MemorySection {
    /// The index of the first section whose last byte is at or after `address`.
    func firstIndex(endingAtOrAfter address: UInt64) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid].range.last < address { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The section that covers `address`, if any.
    func section(containing address: UInt64) -> MemorySection? {
        let index = firstIndex(endingAtOrAfter: address)
        return index < count && self[index].range.contains(address) ? self[index] : nil
    }
}
