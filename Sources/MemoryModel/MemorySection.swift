/// One piece of an address space's flat view, as delivered to listeners and
/// recorded in journals: a guest-physical range and what it maps to.
///
/// A value type with no reference to the region tree, so it can cross threads
/// and be stored; host memory is named by backing and offset.
public struct MemorySection: Hashable, Sendable, CustomStringConvertible {
    public var range: GuestRange
    public var regionName: String
    public var kind: RegionKind
    /// Where the first byte lives in host memory; nil for MMIO.
    public var backing: BackingLocation?
    public var readOnly: Bool
    /// ROMD mode (meaningful for ROM devices).
    public var romd: Bool
    public var dirtyLog: Bool

    public init(
        range: GuestRange, regionName: String, kind: RegionKind, backing: BackingLocation?,
        readOnly: Bool, romd: Bool, dirtyLog: Bool
    ) {
        self.range = range
        self.regionName = regionName
        self.kind = kind
        self.backing = backing
        self.readOnly = readOnly
        self.romd = romd
        self.dirtyLog = dirtyLog
    }

    /// Whether KVM maps this section with a memslot: RAM and ROM always, a ROM
    /// device only in ROMD mode, MMIO never (QEMU's `memory_region_is_ram || romd`).
    public var isSlotEligible: Bool {
        switch kind {
        case .ram, .rom: backing != nil
        case .romDevice: romd && backing != nil
        case .mmio: false
        }
    }

    /// Whether the guest sees memory here that refuses writes.
    public var isReadOnlyMemory: Bool { readOnly || kind == .rom || kind == .romDevice }

    /// Whether a memslot serves a read (or, with `isWrite`, a write) here rather
    /// than the access exiting to user space.
    public func servesAccess(isWrite: Bool) -> Bool { isSlotEligible && !(isWrite && isReadOnlyMemory) }

    public var description: String {
        var flags: [String] = []
        if readOnly { flags.append("ro") }
        if kind == .romDevice { flags.append(romd ? "romd" : "mmio-mode") }
        if dirtyLog { flags.append("dirty-log") }
        let where_ = backing.map { " @\($0)" } ?? ""
        let f = flags.isEmpty ? "" : " [" + flags.joined(separator: ",") + "]"
        return "\(range) \(kind.rawValue) \(regionName)\(where_)\(f)"
    }
}
