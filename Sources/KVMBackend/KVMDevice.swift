import CKVM
import SystemPackage

/// Converts a CKVM return value (result, or -errno) into a `Result`.
func checked(_ rc: Int32) -> Result<Int32, Errno> {
    rc < 0 ? .failure(Errno(rawValue: -rc)) : .success(rc)
}

/// Extensions queried with `KVM_CHECK_EXTENSION`.
public enum KVMCapability: Int, Sendable, CaseIterable {
    case nrVCPUs = 9
    case nrMemslots = 10
    case maxVCPUs = 66
    case readonlyMem = 81
    case multiAddressSpace = 118
    case immediateExit = 136

    public var name: String {
        switch self {
        case .nrVCPUs: "NR_VCPUS"
        case .nrMemslots: "NR_MEMSLOTS"
        case .maxVCPUs: "MAX_VCPUS"
        case .readonlyMem: "READONLY_MEM"
        case .multiAddressSpace: "MULTI_ADDRESS_SPACE"
        case .immediateExit: "IMMEDIATE_EXIT"
        }
    }
}

/// A file descriptor owned by one KVM object and closed with it, unless borrowed.
final class OwnedDescriptor: Sendable {
    let descriptor: FileDescriptor
    private let owned: Bool

    init(_ descriptor: FileDescriptor, owned: Bool) {
        self.descriptor = descriptor
        self.owned = owned
    }

    var fd: Int32 { descriptor.rawValue }

    deinit { if owned { try? descriptor.close() } }
}

/// The `/dev/kvm` file descriptor: one method per system ioctl.
public final class KVMDevice: Sendable {
    private let descriptor: OwnedDescriptor
    public var fd: Int32 { descriptor.fd }

    /// The API version every KVM since Linux 2.6.22 reports.
    public static let stableAPIVersion: Int32 = 12

    /// Opens `/dev/kvm` (or `path`) read-write, close-on-exec, retrying on EINTR.
    public static func open(_ path: String = "/dev/kvm") -> Result<KVMDevice, Errno> {
        do {
            let fd = try FileDescriptor.open(FilePath(path), .readWrite, options: [.closeOnExec], retryOnInterrupt: true)
            return .success(KVMDevice(OwnedDescriptor(fd, owned: true)))
        } catch let error as Errno {
            return .failure(error)
        } catch {
            return .failure(.ioError)
        }
    }

    /// Wraps a descriptor the caller keeps ownership of (tests use a bad one).
    public convenience init(borrowing fd: Int32) { self.init(OwnedDescriptor(FileDescriptor(rawValue: fd), owned: false)) }

    private init(_ descriptor: OwnedDescriptor) { self.descriptor = descriptor }

    public func apiVersion() -> Result<Int32, Errno> { checked(ckvm_get_api_version(fd)) }

    public func checkExtension(_ capability: KVMCapability) -> Result<Int32, Errno> {
        checked(ckvm_check_extension(fd, capability.rawValue))
    }

    public func createVM() -> Result<KVMVMDescriptor, Errno> {
        checked(ckvm_create_vm(fd)).map(KVMVMDescriptor.init(owning:))
    }

    public func vcpuMmapSize() -> Result<Int32, Errno> { checked(ckvm_get_vcpu_mmap_size(fd)) }
}

/// A VM file descriptor: one method per VM ioctl.
public final class KVMVMDescriptor: Sendable {
    private let descriptor: OwnedDescriptor
    public var fd: Int32 { descriptor.fd }

    init(owning fd: Int32) { descriptor = OwnedDescriptor(FileDescriptor(rawValue: fd), owned: true) }

    /// Wraps a descriptor the caller keeps ownership of (tests use a bad one).
    public init(borrowing fd: Int32) { descriptor = OwnedDescriptor(FileDescriptor(rawValue: fd), owned: false) }

    public func checkExtension(_ capability: KVMCapability) -> Result<Int32, Errno> {
        checked(ckvm_check_extension(fd, capability.rawValue))
    }

    public func createVCPU(id: Int) -> Result<KVMVCPUDescriptor, Errno> {
        checked(ckvm_create_vcpu(fd, UInt(id))).map(KVMVCPUDescriptor.init(owning:))
    }

    /// `KVM_SET_USER_MEMORY_REGION` with a raw host address — unsafe: KVM maps
    /// guest memory onto whatever lies at `userspaceAddr`. The caller must
    /// guarantee that `userspaceAddr ..< userspaceAddr + memorySize` is memory this
    /// process mapped for the guest (page-aligned, readable, and writable unless
    /// the slot is read-only), and that it stays mapped until the slot is deleted
    /// or the VM closed; otherwise the guest reads and writes unrelated host
    /// memory. `KVMBackend` is the safe way in: it resolves a backing and offset to
    /// an address after checking the range lies inside that backing.
    public func unsafeSetUserMemoryRegion(slot: UInt32, flags: UInt32, guestPhysAddr: UInt64, memorySize: UInt64,
                                          userspaceAddr: UInt64) -> Result<Void, Errno> {
        checked(ckvm_set_user_memory_region(fd, slot, flags, guestPhysAddr, memorySize, userspaceAddr)).map { _ in () }
    }

    /// `KVM_GET_DIRTY_LOG` into `bitmap`, which must hold one bit per page of the slot.
    public func getDirtyLog(slot: UInt32, into bitmap: inout [UInt64]) -> Result<Void, Errno> {
        bitmap.withUnsafeMutableBytes { checked(ckvm_get_dirty_log(fd, slot, $0.baseAddress)) }.map { _ in () }
    }
}

/// A vCPU file descriptor: one method per vCPU ioctl.
public final class KVMVCPUDescriptor: Sendable {
    private let descriptor: OwnedDescriptor
    public var fd: Int32 { descriptor.fd }

    init(owning fd: Int32) { descriptor = OwnedDescriptor(FileDescriptor(rawValue: fd), owned: true) }

    /// Wraps a descriptor the caller keeps ownership of (tests use a bad one).
    public init(borrowing fd: Int32) { descriptor = OwnedDescriptor(FileDescriptor(rawValue: fd), owned: false) }

    /// `KVM_RUN`; `.failure(EINTR)` when a kick ended it. On success the reason
    /// is in the vCPU's `kvm_run` page (`KVMRunPage.exit`), to be read on this
    /// thread before the next call; after EINTR that reason is stale.
    public func run() -> Result<Void, Errno> { checked(ckvm_run(fd)).map { _ in () } }

    /// `KVM_GET_SREGS` + `KVM_SET_SREGS` + `KVM_SET_REGS`: flat 32-bit protected mode at `entry`.
    public func setupFlatProtectedMode(entry: UInt32, esi: UInt32) -> Result<Void, Errno> {
        checked(ckvm_setup_flat_protected_mode(fd, entry, esi)).map { _ in () }
    }
}
