import MemoryModel
import SystemPackage

/// Memslot flags as KVM defines them (`KVM_MEM_*`). Raw values are kept whole
/// so that an unknown flag can be represented — and refused.
public struct SlotFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let logDirtyPages = SlotFlags(rawValue: 1 << 0)
    public static let readOnly = SlotFlags(rawValue: 1 << 1)
    /// Every flag the backends understand.
    public static let known: SlotFlags = [.logDirtyPages, .readOnly]

    public var description: String {
        var names: [String] = []
        if contains(.logDirtyPages) { names.append("log") }
        if contains(.readOnly) { names.append("ro") }
        let unknown = rawValue & ~Self.known.rawValue
        if unknown != 0 { names.append(hex(unknown)) }
        return names.isEmpty ? "-" : names.joined(separator: "|")
    }
}

/// A memslot id as KVM encodes it: the slot index in bits 0–15, the address-space
/// id in bits 16 and up.
public struct SlotID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(index: UInt16, addressSpace: UInt16) {
        rawValue = UInt32(index) | UInt32(addressSpace) << 16
    }

    public var index: UInt16 { UInt16(truncatingIfNeeded: rawValue) }
    public var addressSpace: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }

    public static func < (lhs: SlotID, rhs: SlotID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { addressSpace == 0 ? "#\(index)" : "#\(index)@as\(addressSpace)" }
}

/// One memslot operation as issued to a backend, with its result.
///
/// Every operation is one `KVM_SET_USER_MEMORY_REGION` (or `KVM_GET_DIRTY_LOG`)
/// call; `kind` says what KVM made of it. `range` is the slot's guest range (for a
/// delete, the range of the slot removed — the ioctl itself carries size 0).
public struct SlotOperation: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case create, delete, move, flags
        /// Fetching a slot's dirty bitmap, done before deleting a dirty-logged slot.
        case dirtyLog = "dirty_log"
    }

    public var kind: Kind
    public var slot: SlotID
    public var range: GuestRange
    public var host: BackingLocation
    public var flags: SlotFlags
    /// 0 on success, else the errno the backend returned.
    public var errno: Int32
    public var durationNs: UInt64

    public init(
        kind: Kind, slot: SlotID, range: GuestRange, host: BackingLocation, flags: SlotFlags,
        errno: Int32 = 0, durationNs: UInt64 = 0
    ) {
        self.kind = kind
        self.slot = slot
        self.range = range
        self.host = host
        self.flags = flags
        self.errno = errno
        self.durationNs = durationNs
    }

    public var succeeded: Bool { errno == 0 }

    /// The request a backend receives for this operation.
    public var request: UserMemoryRegion {
        UserMemoryRegion(
            slot: slot, flags: flags, guestPhysAddr: range.start,
            memorySize: kind == .delete ? 0 : (range.size ?? 0), host: host)
    }

    public var description: String {
        let result = errno == 0 ? "ok" : "errno \(errno) (\(Errno(rawValue: errno)))"
        return "\(kind.rawValue) \(slot) \(range) \(host) flags=\(flags) → \(result)"
    }
}
