import MemoryModel
import Synchronization
import SystemPackage
import Sync

/// The batching memslot listener of one address space (the reference patch's
/// `kvm_region_commit`).
///
/// Deletes and adds are queued as the topology pass delivers them. At commit a
/// merge walk decides whether any delete overlaps any add; under the slots lock,
/// and only if they overlap, ioctls are inhibited while every delete and then
/// every add is applied. Dirty-log start/stop are flags-only updates applied at
/// once. Each commit that changed something emits one `TransactionRecord`.
public final class MemslotListener: MemoryListener {
    public let addressSpace: UInt16
    /// Slots never exceed this size; larger sections are split into chunks.
    public let maxSlotSize: UInt64
    /// Whether overlapping transactions inhibit ioctls. Off reproduces the bug the
    /// reference patch fixes (`--no-inhibit`).
    public let inhibitOverlapping: Bool
    /// How long an inhibit waits for ioctls in flight before it applies anyway
    /// (nil: forever). See `IoctlBlocker.inhibitBegin(drainDeadlineNs:)`.
    public let drainTimeoutNs: UInt64?

    private let backend: any MemslotBackend
    private let blocker: IoctlBlocker
    private let sequencer: TransactionSequencer
    private let observer: (any TransactionObserver)?
    private let pageSize: UInt64
    private let readOnlySlots: Bool

    /// The slots lock (QEMU's `kvm_slots_lock`): guards the slot table against
    /// readers on other threads; held across a commit's whole apply phase so no
    /// reader sees the table between a delete and its add.
    private let slots: Mutex<SlotTable>

    /// The transaction being collected (touched only by the topology-lock holder).
    private var beginNs: UInt64 = 0
    private var changes: [SectionChange] = []
    private var deletes: [MemorySection] = []
    private var adds: [MemorySection] = []
    private var immediateOps: [SlotOperation] = []

    public init(
        addressSpace: UInt16, backend: any MemslotBackend, blocker: IoctlBlocker,
        sequencer: TransactionSequencer, observer: (any TransactionObserver)?,
        maxSlotSize: UInt64? = nil, inhibitOverlapping: Bool = true, drainTimeoutNs: UInt64? = nil
    ) {
        self.addressSpace = addressSpace
        self.backend = backend
        self.blocker = blocker
        self.sequencer = sequencer
        self.observer = observer
        self.inhibitOverlapping = inhibitOverlapping
        self.drainTimeoutNs = drainTimeoutNs
        let caps = backend.capabilities
        pageSize = caps.pageSize
        readOnlySlots = caps.readOnlyMemory
        let limit = min(maxSlotSize ?? caps.maxSlotSize, caps.maxSlotSize)
        self.maxSlotSize = max(limit - limit % caps.pageSize, caps.pageSize)
        slots = Mutex(SlotTable(addressSpace: addressSpace, maxSlots: caps.maxSlots))
    }

    /// The slot table now, ascending by address.
    public var installedSlots: [Memslot] { slots.withLock { $0.sortedSlots } }
    public var digest: SlotTableDigest { slots.withLock { $0.digest } }

    // MARK: MemoryListener

    public func begin() {
        beginNs = MonotonicClock.now()
        changes.removeAll(keepingCapacity: true)
        deletes.removeAll(keepingCapacity: true)
        adds.removeAll(keepingCapacity: true)
        immediateOps.removeAll(keepingCapacity: true)
    }

    public func regionDel(_ section: MemorySection) {
        changes.append(SectionChange(.delete, section))
        deletes.append(section)
    }

    public func regionAdd(_ section: MemorySection) {
        changes.append(SectionChange(.add, section))
        adds.append(section)
    }

    public func regionNop(_ section: MemorySection) {
        changes.append(SectionChange(.nop, section))
    }

    public func logStart(_ section: MemorySection) {
        changes.append(SectionChange(.logStart, section))
        updateDirtyLogging(section, enabled: true)
    }

    public func logStop(_ section: MemorySection) {
        changes.append(SectionChange(.logStop, section))
        updateDirtyLogging(section, enabled: false)
    }

    public func commit() {
        guard !changes.isEmpty else { return }
        let sequence = sequencer.next()
        let decision = OverlapDecision.decide(deletes: deletes.map(\.range), adds: adds.map(\.range))
        let inhibit = decision.overlaps && inhibitOverlapping
        var ops = immediateOps
        let (timing, digest) = slots.withLock { table -> (InhibitTiming, SlotTableDigest) in
            sequencer.setInFlight(sequence)
            let ticket = inhibit ? blocker.inhibitBegin(drainDeadlineNs: drainTimeoutNs) : nil
            if let timeout = ticket?.drainTimeout { observer?.drainTimedOut(sequence: sequence, timeout) }
            let applyStart = MonotonicClock.now()
            for section in deletes { remove(section, from: &table, ops: &ops) }
            for section in adds { add(section, to: &table, ops: &ops) }
            let applyNs = MonotonicClock.now() - applyStart
            var timing = InhibitTiming.notInhibited(applyNs: applyNs)
            if let ticket {
                let total = blocker.inhibitEnd(ticket)
                timing = InhibitTiming(
                    inhibited: true, drainNs: ticket.drainNs, applyNs: applyNs, inhibitNs: total,
                    vcpusKicked: ticket.vcpusKicked, drainTimeout: ticket.drainTimeout)
            }
            sequencer.setInFlight(0)
            return (timing, table.digest)
        }
        let record = TransactionRecord(
            sequence: sequence, addressSpace: addressSpace, beginNs: beginNs, commitNs: MonotonicClock.now(),
            sections: changes, decision: decision, slotOps: ops, timing: timing, digest: digest)
        observer?.transactionCommitted(record)
    }

    // MARK: Applying sections

    /// The page-aligned part of a section that a slot can map (QEMU's
    /// `kvm_align_section`), with its host location; nil if nothing remains or the
    /// section gets no slot.
    private func slotExtent(_ section: MemorySection) -> (start: UInt64, size: UInt64, host: BackingLocation)? {
        guard section.isSlotEligible, let host = section.backing, let size = section.range.size else { return nil }
        // Without KVM_CAP_READONLY_MEM a ROM device would get a writable slot and
        // swallow its command writes; QEMU leaves it to MMIO instead.
        if section.kind == .romDevice && !readOnlySlots { return nil }
        let mask = pageSize - 1
        let delta = (pageSize - (section.range.start & mask)) & mask
        guard delta < size else { return nil }
        let aligned = (size - delta) & ~mask
        guard aligned > 0 else { return nil }
        return (section.range.start + delta, aligned, BackingLocation(backing: host.backing, offset: host.offset + delta))
    }

    /// Splits an extent into slot-sized chunks: (start, size, host) each.
    private func chunks(_ section: MemorySection) -> [(start: UInt64, size: UInt64, host: BackingLocation)] {
        guard let extent = slotExtent(section) else { return [] }
        var result: [(UInt64, UInt64, BackingLocation)] = []
        var done: UInt64 = 0
        while done < extent.size {
            let size = min(maxSlotSize, extent.size - done)
            result.append((extent.start + done, size,
                           BackingLocation(backing: extent.host.backing, offset: extent.host.offset + done)))
            done += size
        }
        return result
    }

    private func flags(for section: MemorySection) -> SlotFlags {
        var flags: SlotFlags = []
        if section.dirtyLog { flags.insert(.logDirtyPages) }
        if readOnlySlots && section.isReadOnlyMemory { flags.insert(.readOnly) }
        return flags
    }

    private func issue(_ kind: SlotOperation.Kind, _ slot: Memslot, flags: SlotFlags) -> SlotOperation {
        var op = SlotOperation(kind: kind, slot: slot.id, range: slot.range, host: slot.host, flags: flags)
        let start = MonotonicClock.now()
        let result: Result<Void, Errno>
        if kind == .dirtyLog {
            result = backend.getDirtyLog(slot: slot.id).map { _ in () }
        } else {
            result = backend.setUserMemoryRegion(op.request)
        }
        op.durationNs = MonotonicClock.now() - start
        if case .failure(let errno) = result { op.errno = errno.rawValue }
        return op
    }

    private func add(_ section: MemorySection, to table: inout SlotTable, ops: inout [SlotOperation]) {
        let flags = flags(for: section)
        for chunk in chunks(section) {
            // A chunk of a valid, page-aligned section: forming its range cannot fail.
            let range = try! GuestRange(start: chunk.start, size: chunk.size)
            guard let index = table.reserveIndex() else {
                ops.append(SlotOperation(
                    kind: .create, slot: SlotID(index: .max, addressSpace: addressSpace), range: range,
                    host: chunk.host, flags: flags, errno: Errno.noSpace.rawValue))
                continue
            }
            let slot = Memslot(
                id: SlotID(index: index, addressSpace: addressSpace), range: range, host: chunk.host, flags: flags)
            let op = issue(.create, slot, flags: flags)
            ops.append(op)
            if op.succeeded { table.install(slot) } else { table.releaseIndex(index) }
        }
    }

    private func remove(_ section: MemorySection, from table: inout SlotTable, ops: inout [SlotOperation]) {
        for chunk in chunks(section) {
            guard let slot = table.slot(start: chunk.start, size: chunk.size) else { continue }
            if slot.flags.contains(.logDirtyPages) {
                ops.append(issue(.dirtyLog, slot, flags: slot.flags))
            }
            let op = issue(.delete, slot, flags: slot.flags)
            ops.append(op)
            if op.succeeded { table.remove(slot) }
        }
    }

    private func updateDirtyLogging(_ section: MemorySection, enabled: Bool) {
        let parts = chunks(section)
        slots.withLock { table in
            for chunk in parts {
                guard let slot = table.slot(start: chunk.start, size: chunk.size) else { continue }
                var flags = slot.flags
                if enabled { flags.insert(.logDirtyPages) } else { flags.remove(.logDirtyPages) }
                guard flags != slot.flags else { continue }
                let op = issue(.flags, slot, flags: flags)
                immediateOps.append(op)
                if op.succeeded { table.update(slot, flags: flags) }
            }
        }
    }
}
