#if canImport(Glibc)
import Glibc
#endif
import CKVM
import Memslots
import MemoryModel
import SystemPackage
import Sync

/// The host memory behind guest RAM: one mapping per backing, addressed as
/// (backing id, offset) everywhere outside this type.
///
/// `@unchecked Sendable`: the table of mappings is only read or changed under
/// `lock`; the mapped memory itself is shared with the guest by design, and the
/// only Swift code that touches it (spurious-fault completion) copies the few
/// bytes of one access.
final class HostMemory: @unchecked Sendable {
    struct Mapping {
        let base: UnsafeMutableRawPointer
        let size: UInt64
        let fd: Int32?
    }

    /// Guards `mappings`: backings are added while a machine is built (and by
    /// replay and reduce as they meet them) and never removed before deinit; the
    /// listener (slot calls) and vCPU threads (fault completion) look them up.
    private let lock = PlainMutex()
    private var mappings: [BackingID: Mapping] = [:]
    /// Upper bound on one backing, checked before anything is mapped.
    let maxBackingSize: UInt64

    init(maxBackingSize: UInt64) { self.maxBackingSize = maxBackingSize }

    deinit {
        for mapping in mappings.values {
            munmap(mapping.base, Int(mapping.size))
            if let fd = mapping.fd { close(fd) }
        }
    }

    func create(_ backing: BackingDescriptor, pageSize: UInt64) -> Result<Void, Errno> {
        guard backing.size > 0, backing.size % pageSize == 0, backing.size <= maxBackingSize,
              backing.size <= UInt64(Int.max)
        else { return .failure(.invalidArgument) }
        return lock.withLock {
            guard mappings[backing.id] == nil else { return .failure(.fileExists) }
            var fd: Int32?
            let flags: Int32
            switch backing.kind {
            case .anonymous:
                flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
            case .memfd:
                let memfd = ckvm_memfd_create("memjournal-\(backing.id)")
                guard memfd >= 0 else { return .failure(Errno(rawValue: -memfd)) }
                guard ftruncate(memfd, off_t(backing.size)) == 0 else {
                    let error = Errno(rawValue: errno)
                    close(memfd)
                    return .failure(error)
                }
                fd = memfd
                flags = MAP_SHARED | MAP_NORESERVE
            }
            let base = mmap(nil, Int(backing.size), PROT_READ | PROT_WRITE, flags, fd ?? -1, 0)
            guard let base, base != MAP_FAILED else {
                let error = Errno(rawValue: errno)
                if let fd { close(fd) }
                return .failure(error)
            }
            mappings[backing.id] = Mapping(base: base, size: backing.size, fd: fd)
            return .success(())
        }
    }

    /// The host address of `size` bytes at `location`, or nil when they do not lie
    /// inside one backing.
    func address(_ location: BackingLocation, size: UInt64) -> UnsafeMutableRawPointer? {
        lock.withLock {
            guard let mapping = mappings[location.backing], location.offset <= mapping.size,
                  size <= mapping.size - location.offset
            else { return nil }
            return mapping.base + Int(location.offset)
        }
    }
}
