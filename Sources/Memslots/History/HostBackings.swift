import MemoryModel

/// Host memory seen from outside a VMM — the `userspace_addr` of its slots —
/// turned into backings a replay can allocate, one range at a time.
///
/// A range inside a backing already made reuses it (the pieces QEMU carves out of
/// one RAM block keep their offsets in it); any other range becomes a new backing
/// of its own, page-aligned, numbered from 1 in the order first seen. A range
/// that only partly overlaps an earlier backing therefore gets its own copy, and
/// a replay does not share those bytes — the topology is what is replayed.
public struct HostBackings: Sendable {
    /// (first host address, size) of each backing, by id - 1.
    private var ranges: [(start: UInt64, size: UInt64)] = []
    private static let page: UInt64 = 0x1000

    public init() {}

    public var descriptors: [BackingDescriptor] {
        ranges.enumerated().map { BackingDescriptor(id: BackingID($0.offset + 1), size: $0.element.size) }
    }

    /// Where `[address, address + size)` lives, making a backing for it when none
    /// holds it (`made` says so). A size of 0 (a delete) never makes one: it maps
    /// into the backing holding `address`, or backing 1's start.
    public mutating func locate(_ address: UInt64, size: UInt64) -> (location: BackingLocation, made: Bool) {
        for (index, range) in ranges.enumerated()
        where address >= range.start && address - range.start < range.size && size <= range.size - (address - range.start) {
            return (BackingLocation(backing: BackingID(index + 1), offset: address - range.start), false)
        }
        guard size > 0 else { return (BackingLocation(backing: 1, offset: 0), false) }
        let start = address & ~(Self.page - 1)
        let end = (address &+ size &+ Self.page &- 1) & ~(Self.page - 1)
        ranges.append((start, end &- start))
        return (BackingLocation(backing: BackingID(ranges.count), offset: address - start), true)
    }
}
