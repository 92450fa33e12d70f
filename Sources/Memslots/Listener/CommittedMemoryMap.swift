import MemoryModel

/// The committed flat views, published after every outermost topology commit so
/// that vCPU threads can tell a spurious fault (the address is memory in the
/// committed view) from a genuine MMIO access.
public final class CommittedMemoryMap: Sendable {
    private let views = ReadWriteLocked<[UInt16: [MemorySection]]>([:])

    public init() {}

    func publish(addressSpace: UInt16, sections: [MemorySection]) {
        views.write { $0[addressSpace] = sections }
    }

    /// The committed section containing `gpa`, if any.
    public func section(containing gpa: UInt64, addressSpace: UInt16) -> MemorySection? {
        views.read { all -> MemorySection? in
            guard let list = all[addressSpace] else { return nil }
            var low = 0, high = list.count
            while low < high {
                let mid = (low + high) / 2
                if list[mid].range.last < gpa { low = mid + 1 } else { high = mid }
            }
            return low < list.count && list[low].range.contains(gpa) ? list[low] : nil
        }
    }

    /// Whether a memslot should serve this access according to the committed view.
    public func isMemory(gpa: UInt64, addressSpace: UInt16, isWrite: Bool) -> Bool {
        guard let section = section(containing: gpa, addressSpace: addressSpace), section.isSlotEligible
        else { return false }
        return !(isWrite && section.isReadOnlyMemory)
    }
}
