import MemoryModel
import SystemPackage

/// The argument of `KVM_SET_USER_MEMORY_REGION`, with the host address named as a
/// backing and offset. `memorySize == 0` deletes the slot.
public struct UserMemoryRegion: Hashable, Sendable {
    public var slot: SlotID
    public var flags: SlotFlags
    public var guestPhysAddr: UInt64
    public var memorySize: UInt64
    public var host: BackingLocation

    public init(slot: SlotID, flags: SlotFlags, guestPhysAddr: UInt64, memorySize: UInt64, host: BackingLocation) {
        self.slot = slot
        self.flags = flags
        self.guestPhysAddr = guestPhysAddr
        self.memorySize = memorySize
        self.host = host
    }
}

/// What a backend supports (from `KVM_CHECK_EXTENSION` on KVM).
public struct BackendCapabilities: Hashable, Sendable {
    /// Usable slots per address space (`KVM_CAP_NR_MEMSLOTS`).
    public var maxSlots: Int
    /// Largest slot in bytes (KVM: `KVM_MEM_MAX_NR_PAGES` pages).
    public var maxSlotSize: UInt64
    /// `KVM_CAP_READONLY_MEM`.
    public var readOnlyMemory: Bool
    /// Address spaces (`KVM_CAP_MULTI_ADDRESS_SPACE`; 2 on x86 with SMM).
    public var addressSpaces: Int
    public var pageSize: UInt64

    public init(maxSlots: Int, maxSlotSize: UInt64, readOnlyMemory: Bool, addressSpaces: Int, pageSize: UInt64 = 4096) {
        self.maxSlots = maxSlots
        self.maxSlotSize = maxSlotSize
        self.readOnlyMemory = readOnlyMemory
        self.addressSpaces = addressSpaces
        self.pageSize = pageSize
    }

    /// x86-64 KVM as our hosts report it.
    public static let x86KVM = BackendCapabilities(
        maxSlots: 32_764, maxSlotSize: ((1 << 31) - 1) * 4096, readOnlyMemory: true, addressSpaces: 2)

    /// Flags a slot may carry on this backend.
    public var validFlags: SlotFlags { readOnlyMemory ? .known : .logDirtyPages }
}

/// How a backing's host memory is provided.
public enum BackingKind: String, Sendable, Hashable, CaseIterable {
    /// Anonymous `MAP_NORESERVE` mapping.
    case anonymous
    /// A memfd, mapped shared.
    case memfd
}

/// A block of host memory that slots point into.
public struct BackingDescriptor: Hashable, Sendable {
    public var id: BackingID
    public var size: UInt64
    public var kind: BackingKind

    public init(id: BackingID, size: UInt64, kind: BackingKind = .anonymous) {
        self.id = id
        self.size = size
        self.kind = kind
    }
}

/// A VM's memslot interface: one method per ioctl, errors as values.
///
/// Implemented by the real KVM backend and by its deterministic twin, the
/// simulated backend; both return KVM's errno for the same mistake.
public protocol MemslotBackend: AnyObject, Sendable {
    /// "kvm" or "sim".
    var name: String { get }
    var capabilities: BackendCapabilities { get }

    /// Provides host memory for `backing`; sizes are checked before anything is mapped.
    func createBacking(_ backing: BackingDescriptor) -> Result<Void, Errno>

    /// `KVM_SET_USER_MEMORY_REGION`: create, delete (size 0), move or re-flag a slot.
    /// A host range outside its backing is refused with `EFAULT` before any call.
    func setUserMemoryRegion(_ region: UserMemoryRegion) -> Result<Void, Errno>

    /// `KVM_GET_DIRTY_LOG`: the slot's dirty bitmap (one bit per page), cleared as read.
    func getDirtyLog(slot: SlotID) -> Result<[UInt64], Errno>

    /// The slots the backend holds now in one address space (for verification).
    func installedSlots(addressSpace: UInt16) -> [Memslot]

    /// The digest of those slots, kept up to date as they change (replay compares
    /// it after every transaction, so it must not cost a walk over the slots).
    func slotTableDigest(addressSpace: UInt16) -> SlotTableDigest
}
