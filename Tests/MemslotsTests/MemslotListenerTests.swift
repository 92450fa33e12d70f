import MemoryModel
import SystemPackage
import Testing
@testable import Memslots
import Sync
import Synchronization

final class Records: TransactionObserver {
    /// Guarded: appended by whichever thread commits, read by the test's.
    let state = PlainLocked<[TransactionRecord]>([])
    func transactionCommitted(_ record: TransactionRecord) { state.withLock { $0.append(record) } }
    func spuriousFault(_ fault: SpuriousFault) {}
    var all: [TransactionRecord] { state.withLock { $0 } }
    var last: TransactionRecord? { all.last }
}

/// A machine on the simulated backend with RAM at 0 in address space 0.
func makeMachine(maxSlotSize: UInt64? = nil, memory: UInt64 = 1 << 20)
    throws -> (Machine, MemoryRegion, MemoryRegion, Records)
{
    let records = Records()
    let machine = Machine(
        backend: SimulatedBackend(), configuration: .init(vcpus: 1, maxSlotSize: maxSlotSize), observer: records)
    let root = MemoryRegion.container("root", size: .max)
    let ram = MemoryRegion.ram("ram", size: memory, at: try machine.addBacking(size: memory))
    try root.addSubregion(ram, at: 0)
    try machine.addAddressSpace(id: 0, name: "memory", root: root)
    return (machine, root, ram, records)
}

@Suite struct MemslotListenerTests {
    @Test func overlappingTransactionIsInhibitedAndRecordsThePair() throws {
        let (machine, root, _, records) = try makeMachine()
        try machine.transaction { try root.addSubregion(.mmio("io", size: 0x1000), at: 0x4000, priority: 1) }
        let record = try #require(records.last)
        #expect(record.sections.map(\.kind) == [.delete, .add, .add, .add])
        let pair = try #require(record.decision.pair)
        let deleted = try GuestRange(start: 0, size: 1 << 20)
        let added = try GuestRange(start: 0, size: 0x4000)
        #expect(pair.deleted == deleted)
        #expect(pair.added == added)
        #expect(record.timing.inhibited)
        // One delete, then the two RAM pieces (the MMIO piece gets no slot).
        #expect(record.slotOps.map(\.kind) == [.delete, .create, .create])
        #expect(record.failedOps.isEmpty)
        #expect(record.digest.count == 2)
        #expect(record.sequence == 2)
    }

    @Test func disjointTransactionIsNotInhibited() throws {
        let (machine, root, _, records) = try makeMachine()
        try machine.transaction { try root.addSubregion(.ram("dimm", size: 0x10000, at: try machine.addBacking(size: 0x10000)), at: 1 << 32) }
        let record = try #require(records.last)
        #expect(!record.decision.overlaps && !record.timing.inhibited)
        #expect(record.slotOps.map(\.kind) == [.create])
    }

    @Test func slotsAreChunkedAtMaxSlotSizeWithFirstFreeIDs() throws {
        let (machine, _, _, records) = try makeMachine(maxSlotSize: 0x40000)
        let initial = try #require(records.last)
        #expect(initial.slotOps.map(\.range.size) == [0x40000, 0x40000, 0x40000, 0x40000])
        #expect(initial.slotOps.map(\.slot.index) == [0, 1, 2, 3])
        #expect(initial.slotOps.map(\.host.offset) == [0, 0x40000, 0x80000, 0xC0000])
        let listener = try #require(machine.listeners[0])
        #expect(listener.installedSlots.count == 4)
    }

    @Test func slotIDsCarryTheAddressSpace() throws {
        let (machine, root, _, records) = try makeMachine()
        let smm = MemoryRegion.container("smm", size: .max)
        try smm.addSubregion(.alias("smm-memory", of: root, offset: 0, size: .max), at: 0)
        try machine.addAddressSpace(id: 1, name: "smm", root: smm)
        let record = try #require(records.last)
        #expect(record.addressSpace == 1)
        #expect(record.slotOps.map(\.slot.rawValue) == [1 << 16])
        #expect(machine.backend.installedSlots(addressSpace: 1).map(\.id) == [SlotID(index: 0, addressSpace: 1)])
    }

    @Test func dirtyLoggingIsFlagsOnlyAndDeleteFetchesTheBitmapFirst() throws {
        let (machine, root, ram, records) = try makeMachine()
        machine.transaction { ram.setDirtyLog(true) }
        let start = try #require(records.last)
        #expect(start.sections.map(\.kind) == [.nop, .logStart])
        #expect(start.slotOps.map(\.kind) == [.flags])
        #expect(start.slotOps[0].flags == .logDirtyPages)
        #expect(!start.decision.overlaps)

        try machine.transaction { try root.removeSubregion(ram) }
        let delete = try #require(records.last)
        #expect(delete.slotOps.map(\.kind) == [.dirtyLog, .delete])
        #expect(delete.failedOps.isEmpty)
    }

    @Test func romDeviceOutOfROMDModeLosesItsSlot() throws {
        let (machine, root, _, records) = try makeMachine()
        let flash = MemoryRegion.romDevice("flash", size: 0x20000, at: try machine.addBacking(size: 0x20000))
        try machine.transaction { try root.addSubregion(flash, at: 0xFFFE0000) }
        #expect(records.last?.slotOps.map(\.flags) == [.readOnly])
        try machine.transaction { try flash.setROMD(false) }
        let record = try #require(records.last)
        #expect(record.slotOps.map(\.kind) == [.delete])
        #expect(record.decision.overlaps)  // like the reference, MMIO sections count for the decision
        #expect(machine.listeners[0]?.installedSlots.count == 1)
    }

    /// Without KVM_CAP_READONLY_MEM a ROM device in ROMD mode stays MMIO (no
    /// writable slot that would swallow its command writes), as in QEMU.
    @Test func romDeviceGetsNoSlotWithoutReadOnlyMemory() throws {
        let records = Records()
        let caps = BackendCapabilities(maxSlots: 32, maxSlotSize: 1 << 30, readOnlyMemory: false, addressSpaces: 1)
        let machine = Machine(backend: SimulatedBackend(capabilities: caps), configuration: .init(vcpus: 1), observer: records)
        let root = MemoryRegion.container("root", size: .max)
        try root.addSubregion(.ram("ram", size: 0x10000, at: try machine.addBacking(size: 0x10000)), at: 0)
        try root.addSubregion(.romDevice("flash", size: 0x20000, at: try machine.addBacking(size: 0x20000)), at: 0xFFFE0000)
        try machine.addAddressSpace(id: 0, name: "memory", root: root)
        #expect(machine.listeners[0]?.installedSlots.map(\.range.start) == [0])
    }

    @Test func failedOperationIsRecordedWithItsErrno() throws {
        let (machine, root, _, records) = try makeMachine()
        // A region whose host range lies outside its backing: the backend refuses it.
        let bad = MemoryRegion.ram("bad", size: 0x10000, at: BackingLocation(backing: 99, offset: 0))
        try machine.transaction { try root.addSubregion(bad, at: 1 << 32) }
        let record = try #require(records.last)
        #expect(record.slotOps.map(\.errno) == [Errno.badAddress.rawValue])
        #expect(record.failedOps.count == 1)
        #expect(machine.listeners[0]?.installedSlots.count == 1)
    }

    @Test func runningOutOfSlotIndicesIsRecordedAsENOSPC() throws {
        let records = Records()
        let caps = BackendCapabilities(maxSlots: 2, maxSlotSize: 0x1000, readOnlyMemory: true, addressSpaces: 1)
        let machine = Machine(backend: SimulatedBackend(capabilities: caps), configuration: .init(vcpus: 1), observer: records)
        let root = MemoryRegion.container("root", size: .max)
        try root.addSubregion(.ram("ram", size: 0x3000, at: try machine.addBacking(size: 0x3000)), at: 0)
        try machine.addAddressSpace(id: 0, name: "memory", root: root)
        #expect(records.last?.slotOps.map(\.errno) == [0, 0, Errno.noSpace.rawValue])
    }
}

/// Raised releasing by the thread that finished, read acquiring by the test's
/// thread, so a raised flag means the work before it is seen.
final class Flag: Sendable { let raised = Atomic<Bool>(false) }

/// A dirty-log fetch from outside the topology lock is a VM ioctl the blocker counts.
@Suite struct DirtyLogFetchTests {
    @Test func fetchOutsideTheTopologyLockWaitsForAnInhibitAndCountsAsAVMIoctl() throws {
        let machine = Machine(backend: SimulatedBackend(), configuration: Machine.Configuration(vcpus: 1))
        let ram = MemoryRegion.ram("ram", size: 0x10000, at: try machine.addBacking(size: 0x10000))
        ram.setDirtyLog(true)
        let root = MemoryRegion.container("system", size: 1 << 32)
        try root.addSubregion(ram, at: 0)
        try machine.addAddressSpace(id: 0, name: "memory", root: root)
        let slot = try #require(machine.listeners[0]?.installedSlots.first).id
        let fetcher = machine.dirtyLogFetcher
        #expect((try? fetcher.fetch(slot: slot).get())?.count == 1)

        // While an inhibit is held, a fetch from another thread does not complete.
        let inhibit = machine.blocker.inhibitBegin()
        let done = Flag()
        let thread = OSThread {
            _ = fetcher.fetch(slot: slot)
            done.raised.store(true, ordering: .releasing)
        }
        MonotonicClock.sleep(nanoseconds: 50_000_000)
        let finishedDuringInhibit = done.raised.load(ordering: .acquiring)
        #expect(!finishedDuringInhibit)
        machine.blocker.inhibitEnd(inhibit)
        thread.join()
        let finishedAfter = done.raised.load(ordering: .acquiring)
        #expect(finishedAfter)
        #expect(machine.blocker.inFlight.vm == 0)
    }
}
