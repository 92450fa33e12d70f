import CKVM
import MemoryModel
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A vCPU's shared `kvm_run` page, mapped from its descriptor and unmapped with
/// this object.
///
/// `nonisolated(unsafe)` on the pointer is sound because the pointer never
/// changes and the page is read and written only by its vCPU's thread between
/// `KVM_RUN` calls — except `immediate_exit`, which kickers and the kick handler
/// set with an atomic store in C.
public final class KVMRunPage: Sendable {
    nonisolated(unsafe) let pointer: UnsafeMutablePointer<kvm_run>
    let size: Int

    private init(pointer: UnsafeMutablePointer<kvm_run>, size: Int) {
        self.pointer = pointer
        self.size = size
    }

    /// `mmap` of `size` bytes (`KVM_GET_VCPU_MMAP_SIZE`) of the vCPU's descriptor.
    public static func map(_ vcpu: KVMVCPUDescriptor, size: Int) -> Result<KVMRunPage, Errno> {
        guard let pointer = ckvm_map_run(vcpu.fd, size) else { return .failure(Errno(rawValue: errno)) }
        return .success(KVMRunPage(pointer: pointer, size: size))
    }

    deinit { _ = ckvm_unmap_run(pointer, size) }

    /// Sets or clears `immediate_exit` (an atomic store: kickers call it from any thread).
    public func setImmediateExit(_ value: Bool) { ckvm_run_set_immediate_exit(pointer, value ? 1 : 0) }

    /// Why the vCPU left `KVM_RUN` (read on the vCPU's thread after a successful run).
    public var exit: VCPUExit {
        let reason = ckvm_run_exit_reason(pointer)
        switch reason {
        case UInt32(KVM_EXIT_MMIO):
            return .mmio(gpa: ckvm_run_mmio_phys_addr(pointer), length: Int(min(ckvm_run_mmio_len(pointer), 8)),
                         isWrite: ckvm_run_mmio_is_write(pointer) != 0)
        case UInt32(KVM_EXIT_IO): return .io
        case UInt32(KVM_EXIT_INTR): return .interrupted
        case UInt32(KVM_EXIT_INTERNAL_ERROR): return .internalError(suberror: ckvm_run_internal_suberror(pointer))
        case UInt32(KVM_EXIT_FAIL_ENTRY): return .failEntry(reason: ckvm_run_fail_entry_reason(pointer))
        default: return .other(reason)
        }
    }

    /// The 8-byte data buffer of an MMIO exit: the value written, or where a read's
    /// answer goes before the next `KVM_RUN`.
    var mmioData: UnsafeMutablePointer<UInt8> { ckvm_run_mmio_data(pointer) }
}

/// Why a vCPU left `KVM_RUN`, as far as the VMM core cares.
public enum VCPUExit: Hashable, Sendable, CustomStringConvertible {
    /// An access no memslot served (`KVM_EXIT_MMIO`); `length` at most 8.
    case mmio(gpa: UInt64, length: Int, isWrite: Bool)
    /// A port I/O exit (`KVM_EXIT_IO`).
    case io
    /// A signal arrived while in the guest (`KVM_EXIT_INTR`).
    case interrupted
    /// KVM could not emulate (`KVM_EXIT_INTERNAL_ERROR`): an instruction fetch from
    /// a GPA without a slot is the crash form of the non-atomic window.
    case internalError(suberror: UInt32)
    /// The hardware refused to enter the guest (`KVM_EXIT_FAIL_ENTRY`).
    case failEntry(reason: UInt64)
    case other(UInt32)

    public var description: String {
        switch self {
        case .mmio(let gpa, let length, let isWrite): "MMIO \(isWrite ? "write" : "read") of \(length) at \(hex(gpa))"
        case .io: "port I/O"
        case .interrupted: "interrupted"
        case .internalError(let sub): "internal error, suberror \(sub)"
        case .failEntry(let reason): "entry failed, reason \(hex(reason))"
        case .other(let reason): "exit reason \(reason)"
        }
    }
}
