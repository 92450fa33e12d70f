/// Identifies a host memory backing (an anonymous mapping or memfd in the KVM
/// backend, a size in the simulated one). Host addresses are always expressed as
/// a backing plus an offset, never as raw pointers.
public typealias BackingID = UInt32

/// A place in host memory: a backing and a byte offset into it.
public struct BackingLocation: Hashable, Sendable, CustomStringConvertible {
    public var backing: BackingID
    public var offset: UInt64

    public init(backing: BackingID, offset: UInt64) {
        self.backing = backing
        self.offset = offset
    }

    public var description: String { "backing \(backing)+\(hex(offset))" }
}

/// What a terminal piece of the flat view is, as recorded in sections and journals.
public enum RegionKind: String, Sendable, Hashable, CaseIterable {
    /// Guest RAM backed by host memory.
    case ram
    /// Read-only memory backed by host memory (RAM with the read-only attribute).
    case rom
    /// A ROM device: read-only memory while in ROMD mode, MMIO otherwise.
    case romDevice = "rom_device"
    /// Emulated I/O memory; never backed by a memslot.
    case mmio
}

/// A node of the memory tree, in the terms of QEMU's memory API.
///
/// Regions are reference types because the tree is shared: a container holds its
/// subregions and an alias refers to another region. The tree belongs to the
/// thread that holds the topology lock (QEMU's BQL); it is not `Sendable`.
/// Mutations take effect at the next outermost commit of a `MemoryTopology`
/// transaction, exactly like QEMU's `memory_region_transaction_commit`.
public final class MemoryRegion {
    /// What the region maps.
    public enum Content {
        /// Host-backed memory; `readOnly` at creation makes it a ROM.
        case memory(BackingLocation)
        /// A ROM device over host memory; `romd` selects read-only memory (true) or MMIO (false).
        case romDevice(BackingLocation)
        /// Emulated I/O.
        case mmio
        /// A window onto `target` starting `offset` bytes into it.
        case alias(target: MemoryRegion, offset: UInt64)
        /// Holds only subregions.
        case container
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notAContainer(String)
        case alreadyMapped(String)
        case notMapped(String)
        case notROMDevice(String)
        case notAlias(String)
        case emptySize(String)

        public var description: String {
            switch self {
            case .notAContainer(let n): "region \(n) cannot hold subregions"
            case .alreadyMapped(let n): "region \(n) is already a subregion of a container"
            case .notMapped(let n): "region \(n) is not a subregion of this container"
            case .notROMDevice(let n): "region \(n) is not a ROM device; ROMD mode does not apply"
            case .notAlias(let n): "region \(n) is not an alias"
            case .emptySize(let n): "region \(n) cannot have size 0"
            }
        }
    }

    public let name: String
    public private(set) var size: UInt64
    public private(set) var content: Content
    /// Read-only attribute; inherited by everything rendered through this region.
    public private(set) var readOnly: Bool
    /// ROMD mode of a ROM device (ignored for other kinds).
    public private(set) var romd: Bool = true
    public private(set) var isEnabled: Bool = true
    /// Dirty logging requested for this region's memory.
    public private(set) var dirtyLog: Bool = false
    /// Address within the containing region.
    public private(set) var address: UInt64 = 0
    /// Priority among the siblings of the containing region; higher wins.
    public private(set) var priority: Int32 = 0
    /// The container this region is mapped into, if any.
    public private(set) weak var container: MemoryRegion?
    /// Subregions, highest priority first; among equal priorities the most recently added first.
    public private(set) var subregions: [MemoryRegion] = []

    private init(name: String, size: UInt64, content: Content, readOnly: Bool) {
        self.name = name
        self.size = size
        self.content = content
        self.readOnly = readOnly
    }

    /// Guest RAM of `size` bytes at `location` in host memory.
    public static func ram(_ name: String, size: UInt64, at location: BackingLocation) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .memory(location), readOnly: false)
    }

    /// Read-only memory of `size` bytes at `location` in host memory.
    public static func rom(_ name: String, size: UInt64, at location: BackingLocation) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .memory(location), readOnly: true)
    }

    /// A ROM device (e.g. pflash) that starts in ROMD mode.
    public static func romDevice(_ name: String, size: UInt64, at location: BackingLocation) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .romDevice(location), readOnly: false)
    }

    /// Emulated I/O memory.
    public static func mmio(_ name: String, size: UInt64) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .mmio, readOnly: false)
    }

    /// A window of `size` bytes onto `target`, starting `offset` bytes into it.
    public static func alias(_ name: String, of target: MemoryRegion, offset: UInt64, size: UInt64) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .alias(target: target, offset: offset), readOnly: false)
    }

    /// A region that only holds subregions.
    public static func container(_ name: String, size: UInt64) -> MemoryRegion {
        MemoryRegion(name: name, size: size, content: .container, readOnly: false)
    }

    /// The kind recorded for pieces of the flat view that end in this region, or nil
    /// for aliases and containers, which never appear there.
    public var kind: RegionKind? {
        switch content {
        case .memory: readOnly ? .rom : .ram
        case .romDevice: .romDevice
        case .mmio: .mmio
        case .alias, .container: nil
        }
    }

    // MARK: Mutations (effective at the next outermost transaction commit)

    /// Maps `child` at `address` inside this region with the given priority.
    public func addSubregion(_ child: MemoryRegion, at address: UInt64, priority: Int32 = 0) throws(Failure) {
        switch content {
        case .alias: throw .notAContainer(name)
        default: break
        }
        guard child.container == nil else { throw .alreadyMapped(child.name) }
        child.address = address
        child.priority = priority
        child.container = self
        let index = subregions.firstIndex { priority >= $0.priority } ?? subregions.endIndex
        subregions.insert(child, at: index)
    }

    /// Unmaps `child` from this region.
    public func removeSubregion(_ child: MemoryRegion) throws(Failure) {
        guard let index = subregions.firstIndex(where: { $0 === child }) else { throw .notMapped(child.name) }
        subregions.remove(at: index)
        child.container = nil
    }

    /// Moves the region within its container.
    public func setAddress(_ address: UInt64) { self.address = address }

    public func setEnabled(_ enabled: Bool) { isEnabled = enabled }

    public func setReadOnly(_ readOnly: Bool) { self.readOnly = readOnly }

    public func setDirtyLog(_ enabled: Bool) { dirtyLog = enabled }

    /// Resizes the region (QEMU's `memory_region_ram_resize` for RAM).
    public func setSize(_ size: UInt64) throws(Failure) {
        guard size > 0 else { throw .emptySize(name) }
        self.size = size
    }

    /// Switches a ROM device between ROMD mode (read-only memory) and MMIO mode.
    public func setROMD(_ romd: Bool) throws(Failure) {
        guard case .romDevice = content else { throw .notROMDevice(name) }
        self.romd = romd
    }

    /// Points an alias at a different offset of its target.
    public func setAliasOffset(_ offset: UInt64) throws(Failure) {
        guard case .alias(let target, _) = content else { throw .notAlias(name) }
        content = .alias(target: target, offset: offset)
    }
}
