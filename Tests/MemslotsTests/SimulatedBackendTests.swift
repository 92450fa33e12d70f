import MemoryModel
import SystemPackage
import Testing
@testable import Memslots

extension MemslotMisuse: CustomTestStringConvertible {
    public var testDescription: String { name }
}

func region(_ slot: UInt16, _ gpa: UInt64, _ size: UInt64, flags: SlotFlags = [], offset: UInt64 = 0)
    -> UserMemoryRegion
{
    UserMemoryRegion(slot: SlotID(index: slot, addressSpace: 0), flags: flags, guestPhysAddr: gpa,
                     memorySize: size, host: BackingLocation(backing: 1, offset: offset))
}

@Suite struct SimulatedBackendTests {
    func backend() -> SimulatedBackend {
        let backend = SimulatedBackend()
        _ = backend.createBacking(BackingDescriptor(id: 1, size: MemslotMisuse.backingSize))
        return backend
    }

    @Test(arguments: MemslotMisuse.table)
    func misuseGetsKVMsErrno(_ misuse: MemslotMisuse) throws {
        let sim = backend()
        for request in misuse.setup {
            #expect(throws: Never.self) { try sim.setUserMemoryRegion(request).get() }
        }
        let before = sim.installedSlots(addressSpace: 0)
        #expect(throws: misuse.errno) { try sim.setUserMemoryRegion(misuse.request).get() }
        // A refused request changes nothing.
        #expect(sim.installedSlots(addressSpace: 0) == before)
    }

    @Test func validOperationsCreateMoveReflagAndDelete() throws {
        let sim = backend()
        try sim.setUserMemoryRegion(region(0, 0, 0x10000)).get()
        try sim.setUserMemoryRegion(region(0, 0x40000, 0x10000)).get()  // move
        #expect(sim.installedSlots(addressSpace: 0).map(\.range.start) == [0x40000])
        try sim.setUserMemoryRegion(region(0, 0x40000, 0x10000, flags: .logDirtyPages)).get()  // flags only
        #expect(sim.access(addressSpace: 0, gpa: 0x42010, isWrite: true) == .memory)
        let bitmap = try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get()
        #expect(bitmap == [1 << 2])
        #expect(try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get() == [0])  // cleared as read
        try sim.setUserMemoryRegion(region(0, 0x40000, 0)).get()  // delete
        #expect(sim.installedSlots(addressSpace: 0).isEmpty)
        #expect(sim.access(addressSpace: 0, gpa: 0x42010, isWrite: false) == .mmioExit)
        #expect(throws: Errno.noSuchFileOrDirectory) { try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get() }
    }

    @Test func hostRangeOutsideItsBackingIsRefused() {
        let sim = backend()
        #expect(throws: Errno.badAddress) { try sim.setUserMemoryRegion(region(0, 0, 0x2000, offset: 0xFF000)).get() }
        #expect(throws: Errno.badAddress) {
            try sim.setUserMemoryRegion(UserMemoryRegion(
                slot: SlotID(rawValue: 0), flags: [], guestPhysAddr: 0, memorySize: 0x1000,
                host: BackingLocation(backing: 9, offset: 0))).get()
        }
    }

    @Test func writesToReadOnlySlotsExit() throws {
        let sim = backend()
        try sim.setUserMemoryRegion(region(0, 0, 0x1000, flags: .readOnly)).get()
        #expect(sim.access(addressSpace: 0, gpa: 0x10, isWrite: false) == .memory)
        #expect(sim.access(addressSpace: 0, gpa: 0x10, isWrite: true) == .mmioExit)
    }
}
