import MemoryModel
import Synchronization
import SystemPackage
import Sync

/// The deterministic twin of the KVM backend: a model of KVM's memslot rules
/// (`kvm_set_memory_region`) that returns KVM's errno for the same mistake.
///
/// | misuse                                                   | errno  |
/// |----------------------------------------------------------|--------|
/// | unknown flag (or read-only without READONLY_MEM)         | EINVAL |
/// | address-space id or slot index out of range              | EINVAL |
/// | guest address, size or host offset not page-aligned      | EINVAL |
/// | guest range reaches or wraps past 2^64                   | EINVAL |
/// | slot larger than the maximum slot size                   | EINVAL |
/// | delete (size 0) of a slot that does not exist            | EINVAL |
/// | resize, host-address change or read-only toggle of a slot| EINVAL |
/// | new or moved slot overlapping another slot               | EEXIST |
/// | dirty log of a slot that is missing or not logging       | ENOENT |
/// | host range outside its backing (checked before the call) | EFAULT |
///
/// Each operation takes `operationDelay` nanoseconds after it takes effect, so
/// the window between a delete and the following add is as real as on KVM.
/// Simulated vCPUs read the installed slots concurrently through `access`.
public final class SimulatedBackend: MemslotBackend {
    public let name = "sim"
    public let capabilities: BackendCapabilities
    /// Time each memslot operation takes after it is installed.
    public let operationDelayNs: UInt64

    /// The "kernel" side: installed slots, read by vCPU threads under the shared
    /// lock and changed by memslot operations under the exclusive one.
    private let kernel = ReadWriteLocked(MemslotMap())
    /// Backing sizes by id; written at setup, read on each create.
    private let backings = Mutex<[BackingID: BackingDescriptor]>([:])
    /// Dirty pages per logging slot (page indices within the slot). Written by vCPU
    /// accesses, read-and-cleared by `getDirtyLog`; a plain mutex because vCPU
    /// threads take it.
    private let dirtyPages = PlainLocked<[SlotID: Set<UInt64>]>([:])
    /// Called after every memslot operation (deterministic stepping runs simulated
    /// vCPU accesses here, between any two operations).
    /// Boxed so that reading it through the mutex's `inout` access does not wrap
    /// the closure in one more reabstraction thunk on every call.
    private let interleaver = Mutex<Hook?>(nil)

    private final class Hook: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    public init(capabilities: BackendCapabilities = .x86KVM, operationDelayNs: UInt64 = 0) {
        self.capabilities = capabilities
        self.operationDelayNs = operationDelayNs
    }

    /// Installs the hook run after each memslot operation.
    public func setInterleaver(_ hook: (@Sendable () -> Void)?) {
        let boxed = hook.map(Hook.init)
        interleaver.withLock { $0 = boxed }
    }

    public func createBacking(_ backing: BackingDescriptor) -> Result<Void, Errno> {
        guard backing.size > 0, backing.size % capabilities.pageSize == 0 else { return .failure(.invalidArgument) }
        return backings.withLock { table in
            guard table[backing.id] == nil else { return .failure(.fileExists) }
            table[backing.id] = backing
            return .success(())
        }
    }

    public func setUserMemoryRegion(_ region: UserMemoryRegion) -> Result<Void, Errno> {
        let result = apply(region)
        MonotonicClock.sleep(nanoseconds: operationDelayNs)
        if let hook = interleaver.withLock({ $0 }) { hook.run() }
        return result
    }

    private func apply(_ region: UserMemoryRegion) -> Result<Void, Errno> {
        let caps = capabilities
        let page = caps.pageSize
        guard region.flags.rawValue & ~caps.validFlags.rawValue == 0 else { return .failure(.invalidArgument) }
        guard Int(region.slot.addressSpace) < caps.addressSpaces, Int(region.slot.index) < caps.maxSlots
        else { return .failure(.invalidArgument) }
        guard region.memorySize % page == 0, region.guestPhysAddr % page == 0, region.host.offset % page == 0
        else { return .failure(.invalidArgument) }
        guard region.memorySize <= caps.maxSlotSize else { return .failure(.invalidArgument) }

        guard region.memorySize > 0 else {
            // Delete.
            return kernel.write { k in
                guard k.remove(region.slot) != nil else { return .failure(.invalidArgument) }
                dirtyPages.withLock { _ = $0.removeValue(forKey: region.slot) }
                return .success(())
            }
        }
        // KVM refuses gpa + size that wraps, including to exactly 0 (a slot ending at 2^64 - 1).
        guard let range = try? GuestRange(start: region.guestPhysAddr, size: region.memorySize), range.end != nil
        else { return .failure(.invalidArgument) }
        guard let backing = backings.withLock({ $0[region.host.backing] }),
              region.host.offset <= backing.size, region.memorySize <= backing.size - region.host.offset
        else { return .failure(.badAddress) }

        let slot = Memslot(id: region.slot, range: range, host: region.host, flags: region.flags)
        return kernel.write { k in
            guard let old = k.slot(region.slot) else {
                guard !k.overlaps(range, addressSpace: region.slot.addressSpace)
                else { return .failure(.fileExists) }
                k.insert(slot)
                if slot.flags.contains(.logDirtyPages) { resetDirty(slot.id) }
                return .success(())
            }
            guard old.host == slot.host, old.range.size == slot.range.size,
                  old.flags.contains(.readOnly) == slot.flags.contains(.readOnly)
            else { return .failure(.invalidArgument) }
            guard old != slot else { return .success(()) }
            k.remove(slot.id)
            if old.range.start != slot.range.start, k.overlaps(range, addressSpace: region.slot.addressSpace) {
                k.insert(old)
                return .failure(.fileExists)
            }
            k.insert(slot)
            if slot.flags.contains(.logDirtyPages) && !old.flags.contains(.logDirtyPages) { resetDirty(slot.id) }
            return .success(())
        }
    }

    private func resetDirty(_ id: SlotID) {
        dirtyPages.withLock { $0[id] = [] }
    }

    public func getDirtyLog(slot: SlotID) -> Result<[UInt64], Errno> {
        guard Int(slot.addressSpace) < capabilities.addressSpaces, Int(slot.index) < capabilities.maxSlots
        else { return .failure(.invalidArgument) }
        guard let installed = kernel.read({ $0.slot(slot) }), installed.flags.contains(.logDirtyPages),
              let size = installed.range.size
        else { return .failure(.noSuchFileOrDirectory) }
        let pages = size / capabilities.pageSize
        var bitmap = [UInt64](repeating: 0, count: Int((pages + 63) / 64))
        let dirty = dirtyPages.withLock { pages -> Set<UInt64> in
            defer { pages[slot] = [] }
            return pages[slot] ?? []
        }
        for page in dirty { bitmap[Int(page / 64)] |= 1 << (page % 64) }
        return .success(bitmap)
    }

    public func installedSlots(addressSpace: UInt16) -> [Memslot] {
        kernel.read { $0.slots(addressSpace: addressSpace) }
    }

    public func slotTableDigest(addressSpace: UInt16) -> SlotTableDigest {
        kernel.read { $0.digest(addressSpace: addressSpace) }
    }

    /// What a vCPU access finds in the installed slots.
    public enum AccessResult: Sendable, Equatable {
        /// Served from a slot.
        case memory
        /// No slot can serve it: KVM would exit to userspace with `KVM_EXIT_MMIO`.
        case mmioExit
    }

    /// A vCPU access to `gpa` in address space `addressSpace`, as KVM would resolve it.
    public func access(addressSpace: UInt16, gpa: UInt64, isWrite: Bool) -> AccessResult {
        let hit = kernel.read { $0.slot(containing: gpa, addressSpace: addressSpace) }
        guard let slot = hit, !(isWrite && slot.flags.contains(.readOnly)) else { return .mmioExit }
        if isWrite && slot.flags.contains(.logDirtyPages) {
            let page = (gpa - slot.range.start) / capabilities.pageSize
            dirtyPages.withLock { _ = $0[slot.id, default: []].insert(page) }
        }
        return .memory
    }
}
