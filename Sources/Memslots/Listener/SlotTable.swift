import MemoryModel

/// The listener's view of the memslots of one address space (QEMU's `kml->slots`).
///
/// Lookups by exact (start, size) are O(1) through an index keyed by start address
/// (slots are disjoint, so starts are unique); the lowest free slot index comes
/// from a min-heap in O(log n); the digest is kept up to date per operation. All
/// of it stays fast at KVM's 32,764 slots.
public struct SlotTable: Sendable {
    public let addressSpace: UInt16
    public let maxSlots: Int
    private var slots: [UInt16: Memslot] = [:]
    private var indexByStart: [UInt64: UInt16] = [:]
    private var freeIndices: MinHeap
    public private(set) var digest = SlotTableDigest()

    public init(addressSpace: UInt16, maxSlots: Int) {
        self.addressSpace = addressSpace
        self.maxSlots = maxSlots
        freeIndices = MinHeap(ascending: 0..<UInt16(clamping: maxSlots))
    }

    public var count: Int { slots.count }

    /// The slot that starts at `start` and is exactly `size` bytes long.
    public func slot(start: UInt64, size: UInt64) -> Memslot? {
        guard let index = indexByStart[start], let slot = slots[index], slot.range.size == size else { return nil }
        return slot
    }

    /// All slots, ascending by guest address.
    public var sortedSlots: [Memslot] { slots.values.sorted { $0.range.start < $1.range.start } }

    /// Reserves the lowest free slot index, or nil when all are used.
    mutating func reserveIndex() -> UInt16? { freeIndices.popMin() }

    /// Returns an index reserved by `reserveIndex` that ended up unused.
    mutating func releaseIndex(_ index: UInt16) { freeIndices.insert(index) }

    /// Records a slot the backend accepted, in an index from `reserveIndex`.
    mutating func install(_ slot: Memslot) {
        slots[slot.id.index] = slot
        indexByStart[slot.range.start] = slot.id.index
        digest.insert(slot)
    }

    /// Forgets a slot the backend deleted and frees its index.
    mutating func remove(_ slot: Memslot) {
        guard slots.removeValue(forKey: slot.id.index) != nil else { return }
        indexByStart.removeValue(forKey: slot.range.start)
        freeIndices.insert(slot.id.index)
        digest.remove(slot)
    }

    /// Replaces a slot's flags after a successful flags-only update.
    mutating func update(_ slot: Memslot, flags: SlotFlags) {
        guard slots[slot.id.index] != nil else { return }
        digest.remove(slot)
        var updated = slot
        updated.flags = flags
        slots[slot.id.index] = updated
        digest.insert(updated)
    }
}

/// A binary min-heap of slot indices.
struct MinHeap: Sendable {
    private var items: [UInt16]

    /// A heap of an ascending range (a sorted array already is a valid min-heap).
    init(ascending range: Range<UInt16>) { items = Array(range) }

    mutating func insert(_ value: UInt16) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> UInt16? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        guard !items.isEmpty else { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left] < items[smallest] { smallest = left }
            if right < items.count, items[right] < items[smallest] { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}
