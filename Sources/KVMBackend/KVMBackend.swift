import CKVM
import Memslots
import MemoryModel
import SystemPackage
import Sync

/// A real VM from `/dev/kvm` behind the memslot backend protocol.
///
/// Backings are anonymous `MAP_NORESERVE` mappings or memfds; a host range is
/// checked against its backing before any ioctl (`EFAULT` otherwise), so no
/// request can point KVM at memory we did not map.
public final class KVMBackend: MemslotBackend {
    public let name = "kvm"
    public let capabilities: BackendCapabilities
    /// What `/dev/kvm` reported, for the journal header.
    public let apiVersion: Int32
    public let extensions: [KVMCapability: Int32]
    let device: KVMDevice
    let vm: KVMVMDescriptor
    let memory: HostMemory
    /// What KVM holds, mirrored from successful calls (KVM cannot list its slots).
    /// Guarded: the lock keeps the map whole between the slot calls that change it
    /// and `installedSlots`/`digest`, which may read it from any thread.
    private let installed = PlainLocked(MemslotMap())

    public enum Failure: Error, CustomStringConvertible {
        case open(Errno)
        case apiVersion(Int32)
        case ioctl(String, Errno)

        public var description: String {
            switch self {
            case .open(let e): "cannot open /dev/kvm: \(e)"
            case .apiVersion(let v): "/dev/kvm reports API version \(v), expected \(KVMDevice.stableAPIVersion)"
            case .ioctl(let name, let e): "\(name) failed: \(e)"
            }
        }
    }

    /// Opens `/dev/kvm`, checks the API version, reads the capabilities, creates a VM.
    public init(maxBackingSize: UInt64 = 64 << 30) throws(Failure) {
        let device: KVMDevice
        switch KVMDevice.open() {
        case .success(let d): device = d
        case .failure(let e): throw .open(e)
        }
        let version = (try? device.apiVersion().get()) ?? -1
        guard version == KVMDevice.stableAPIVersion else { throw .apiVersion(version) }
        let vm: KVMVMDescriptor
        switch device.createVM() {
        case .success(let v): vm = v
        case .failure(let e): throw .ioctl("KVM_CREATE_VM", e)
        }
        var extensions: [KVMCapability: Int32] = [:]
        for capability in KVMCapability.allCases {
            extensions[capability] = (try? vm.checkExtension(capability).get()) ?? 0
        }
        self.device = device
        self.vm = vm
        apiVersion = version
        self.extensions = extensions
        memory = HostMemory(maxBackingSize: maxBackingSize)
        // NR_MEMSLOTS counts the slots userspace may use; a VM reports it per address space.
        let slots = Int(extensions[.nrMemslots] ?? 32)
        capabilities = BackendCapabilities(
            maxSlots: max(min(slots, Int(UInt16.max)), 1), maxSlotSize: ((1 << 31) - 1) * 4096,
            readOnlyMemory: (extensions[.readonlyMem] ?? 0) > 0,
            addressSpaces: max(Int(extensions[.multiAddressSpace] ?? 1), 1))
    }

    /// Whether `/dev/kvm` can be opened here, and if not, why.
    public static func availability() -> Result<Void, Errno> {
        KVMDevice.open().map { _ in () }
    }

    public func createBacking(_ backing: BackingDescriptor) -> Result<Void, Errno> {
        memory.create(backing, pageSize: capabilities.pageSize)
    }

    public func setUserMemoryRegion(_ region: UserMemoryRegion) -> Result<Void, Errno> {
        var userspaceAddr: UInt64 = 0
        if region.memorySize > 0 {
            guard let address = memory.address(region.host, size: region.memorySize) else { return .failure(.badAddress) }
            userspaceAddr = UInt64(UInt(bitPattern: address))
        }
        // The address comes from `memory`, which checked the range lies inside the backing.
        let result = vm.unsafeSetUserMemoryRegion(
            slot: region.slot.rawValue, flags: region.flags.rawValue, guestPhysAddr: region.guestPhysAddr,
            memorySize: region.memorySize, userspaceAddr: userspaceAddr)
        if case .success = result {
            installed.withLock { _ = $0.apply(region) }
        }
        return result
    }

    public func getDirtyLog(slot: SlotID) -> Result<[UInt64], Errno> {
        // The bitmap must cover the slot; size it from what KVM holds (ENOENT, as
        // KVM answers, for a slot it does not hold).
        guard let installedSlot = installed.withLock({ $0.slot(slot) }), let size = installedSlot.range.size
        else { return .failure(.noSuchFileOrDirectory) }
        let pages = size / capabilities.pageSize
        var bitmap = [UInt64](repeating: 0, count: Int((pages + 63) / 64))
        return vm.getDirtyLog(slot: slot.rawValue, into: &bitmap).map { bitmap }
    }

    public func installedSlots(addressSpace: UInt16) -> [Memslot] {
        installed.withLock { $0.slots(addressSpace: addressSpace) }
    }

    public func slotTableDigest(addressSpace: UInt16) -> SlotTableDigest {
        installed.withLock { $0.digest(addressSpace: addressSpace) }
    }

    /// Host memory for `size` bytes at `location` (spurious-fault completion).
    func hostAddress(_ location: BackingLocation, size: UInt64) -> UnsafeMutableRawPointer? {
        memory.address(location, size: size)
    }
}
