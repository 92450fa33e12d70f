import MemoryModel

/// A memslot as both the listener's slot table and the backends hold it.
public struct Memslot: Hashable, Sendable, CustomStringConvertible {
    public var id: SlotID
    public var range: GuestRange
    public var host: BackingLocation
    public var flags: SlotFlags

    public init(id: SlotID, range: GuestRange, host: BackingLocation, flags: SlotFlags) {
        self.id = id
        self.range = range
        self.host = host
        self.flags = flags
    }

    /// A stable 64-bit hash of every field (SplitMix64 finaliser chained over the
    /// fields) — unlike `Hasher`, identical in every process, so digests compare
    /// across runs and machines.
    var contentHash: UInt64 {
        // Field by field, without an array: this runs on every slot-table change.
        var h: UInt64 = 0x6d656d6a6f75726e  // "memjourn"
        h = Self.mix(h ^ UInt64(id.rawValue))
        h = Self.mix(h ^ range.start)
        h = Self.mix(h ^ range.last)
        h = Self.mix(h ^ UInt64(host.backing))
        h = Self.mix(h ^ host.offset)
        h = Self.mix(h ^ UInt64(flags.rawValue))
        return h
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    public var description: String { "\(id) \(range) \(host) flags=\(flags)" }
}

extension SlotTableDigest {
    /// The digest of a set of slots.
    public init<S: Sequence>(slots: S) where S.Element == Memslot {
        self.init()
        for slot in slots { insert(slot) }
    }
}
