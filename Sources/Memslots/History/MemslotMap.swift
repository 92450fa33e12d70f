import MemoryModel

/// The memslots of every address space, by id and ordered by address, with each
/// address space's digest kept up to date per change.
///
/// The one slot table of everything that follows slots from the outside: the
/// history reducer, the simulated kernel and the KVM backend's mirror of what
/// KVM accepted. (The listener's `SlotTable` is the VMM's own table: it also
/// allocates slot indices.) It takes what it is given: validation is the
/// caller's — the simulated kernel refuses what KVM refuses before it gets here.
public struct MemslotMap: Sendable {
    private var byID: [SlotID: Memslot] = [:]
    private var ordered: [UInt16: OrderedRangeMap<Memslot>] = [:]
    private var digests: [UInt16: SlotTableDigest] = [:]

    public init() {}

    public func slot(_ id: SlotID) -> Memslot? { byID[id] }

    /// One address space's slots, ascending by address.
    public func slots(addressSpace: UInt16) -> [Memslot] { ordered[addressSpace]?.ascending ?? [] }

    public func slot(containing gpa: UInt64, addressSpace: UInt16) -> Memslot? {
        ordered[addressSpace]?.element(containing: gpa)
    }

    /// Whether `range` overlaps a slot. Slots are disjoint, so a range overlaps one
    /// iff the last slot starting at or below its end reaches its start.
    public func overlaps(_ range: GuestRange, addressSpace: UInt16) -> Bool {
        guard let slot = ordered[addressSpace]?.floor(range.last) else { return false }
        return slot.range.last >= range.start
    }

    public func digest(addressSpace: UInt16) -> SlotTableDigest { digests[addressSpace] ?? SlotTableDigest() }

    /// Address spaces that have held a slot, ascending.
    public var addressSpaces: [UInt16] { ordered.keys.sorted() }

    /// Installs `slot`, replacing a slot with its id (and one that starts where it starts).
    public mutating func insert(_ slot: Memslot) {
        remove(slot.id)
        let space = slot.id.addressSpace
        if let existing = ordered[space]?.floor(slot.range.start), existing.range.start == slot.range.start {
            remove(existing.id)
        }
        byID[slot.id] = slot
        ordered[space, default: OrderedRangeMap()].insert(slot)
        digests[space, default: SlotTableDigest()].insert(slot)
    }

    /// Removes the slot with `id`, if any, and returns it.
    @discardableResult
    public mutating func remove(_ id: SlotID) -> Memslot? {
        guard let slot = byID.removeValue(forKey: id) else { return nil }
        ordered[id.addressSpace]?.remove(start: slot.range.start)
        digests[id.addressSpace, default: SlotTableDigest()].remove(slot)
        return slot
    }

    /// What a successful `KVM_SET_USER_MEMORY_REGION` does to the table: size 0
    /// deletes the slot; anything else creates, moves or re-flags it. Returns the
    /// slot removed and the slot installed.
    @discardableResult
    public mutating func apply(_ region: UserMemoryRegion) -> (removed: Memslot?, installed: Memslot?) {
        guard region.memorySize > 0 else { return (remove(region.slot), nil) }
        // A range that wraps cannot have been accepted; treat the call as a delete.
        guard let range = try? GuestRange(start: region.guestPhysAddr, size: region.memorySize) else {
            return (remove(region.slot), nil)
        }
        let removed = byID[region.slot]
        let slot = Memslot(id: region.slot, range: range, host: region.host, flags: region.flags)
        insert(slot)
        return (removed, slot)
    }
}
