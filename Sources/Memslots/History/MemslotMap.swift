import MemoryModel

/// The memslots of every address space, by id and ordered by address.
///
/// The one slot table of everything that follows slots from the outside: the
/// history reducer, the simulated kernel and the KVM backend's mirror of what
/// KVM accepted. (The listener's `SlotTable` is the VMM's own table: it also
/// allocates slot indices.) It takes what it is given: validation is the
/// caller's — the simulated kernel refuses what KVM refuses before it gets here.
public struct MemslotMap: Sendable {
    private var byID: [SlotID: Memslot] = [:]
    /// Indexed by address-space id (an array: this is the simulated kernel's hot
    /// path, where hashing the id cost a quarter of its throughput); grown on demand.
    private var ordered: [OrderedRangeMap<Memslot>] = []
    /// Each address space's digest, indexed like `ordered` and kept up to date by
    /// `insert` and `remove`, so reading it costs nothing per slot.
    private var digests: [SlotTableDigest] = []

    public init() {}

    /// The digest of one address space's slots.
    public func digest(addressSpace: UInt16) -> SlotTableDigest {
        Int(addressSpace) < digests.count ? digests[Int(addressSpace)] : SlotTableDigest()
    }

    public func slot(_ id: SlotID) -> Memslot? { byID[id] }

    /// One address space's slots, ascending by address.
    public func slots(addressSpace: UInt16) -> [Memslot] { map(addressSpace)?.ascending ?? [] }

    public func slot(containing gpa: UInt64, addressSpace: UInt16) -> Memslot? {
        map(addressSpace)?.element(containing: gpa)
    }

    private func map(_ addressSpace: UInt16) -> OrderedRangeMap<Memslot>? {
        Int(addressSpace) < ordered.count ? ordered[Int(addressSpace)] : nil
    }

    /// Whether `range` overlaps a slot. Slots are disjoint, so a range overlaps one
    /// iff the last slot starting at or below its end reaches its start.
    public func overlaps(_ range: GuestRange, addressSpace: UInt16) -> Bool {
        guard Int(addressSpace) < ordered.count, let slot = ordered[Int(addressSpace)].floor(range.last) else {
            return false
        }
        return slot.range.last >= range.start
    }

    /// Address spaces that hold a slot, ascending.
    public var addressSpaces: [UInt16] { ordered.indices.filter { ordered[$0].count > 0 }.map { UInt16($0) } }

    /// Installs `slot`, whose id is not in the table and whose start no other slot
    /// of its address space has (the simulated kernel checks both first).
    public mutating func insert(_ slot: Memslot) {
        byID[slot.id] = slot
        let space = Int(slot.id.addressSpace)
        while ordered.count <= space {
            ordered.append(OrderedRangeMap())
            digests.append(SlotTableDigest())
        }
        ordered[space].insert(slot)
        digests[space].insert(slot)
    }

    /// Removes the slot with `id`, if any, and returns it.
    @discardableResult
    public mutating func remove(_ id: SlotID) -> Memslot? {
        guard let slot = byID.removeValue(forKey: id) else { return nil }
        ordered[Int(id.addressSpace)].remove(start: slot.range.start)
        digests[Int(id.addressSpace)].remove(slot)
        return slot
    }

    /// What a successful `KVM_SET_USER_MEMORY_REGION` does to the table: size 0
    /// deletes the slot; anything else creates, moves or re-flags it. Returns the
    /// slots removed (the slot's old self, and — in a history that says so — one
    /// another id had at the same start) and the slot installed.
    @discardableResult
    public mutating func apply(_ region: UserMemoryRegion) -> (removed: [Memslot], installed: Memslot?) {
        var removed: [Memslot] = []
        if let old = remove(region.slot) { removed.append(old) }
        // Size 0 deletes; a range that wraps cannot have been accepted: a delete too.
        guard region.memorySize > 0, let range = try? GuestRange(start: region.guestPhysAddr, size: region.memorySize)
        else { return (removed, nil) }
        let space = region.slot.addressSpace
        if let other = map(space)?.floor(range.start), other.range.start == range.start, let gone = remove(other.id) {
            removed.append(gone)
        }
        let slot = Memslot(id: region.slot, range: range, host: region.host, flags: region.flags)
        insert(slot)
        return (removed, slot)
    }
}
