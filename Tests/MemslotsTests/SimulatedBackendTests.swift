import MemoryModel
import SystemPackage
import Testing
@testable import Memslots

/// One row of the misuse table: a request sequence whose last call must fail with `errno`.
struct Misuse: CustomTestStringConvertible, Sendable {
    var name: String
    var setup: [UserMemoryRegion]
    var request: UserMemoryRegion
    var errno: Errno
    var testDescription: String { name }

    static let backing = BackingLocation(backing: 1, offset: 0)
    static func region(_ slot: UInt16, _ gpa: UInt64, _ size: UInt64, flags: SlotFlags = [], offset: UInt64 = 0,
                       addressSpace: UInt16 = 0) -> UserMemoryRegion {
        UserMemoryRegion(slot: SlotID(index: slot, addressSpace: addressSpace), flags: flags, guestPhysAddr: gpa,
                         memorySize: size, host: BackingLocation(backing: 1, offset: offset))
    }

    /// KVM's errno for each mistake; the KVM backend's conformance test uses the same table.
    static let table: [Misuse] = [
        Misuse(name: "overlapping add", setup: [region(0, 0, 0x10000)], request: region(1, 0x8000, 0x10000, offset: 0x10000),
               errno: .fileExists),
        Misuse(name: "resize of an existing slot", setup: [region(0, 0, 0x10000)], request: region(0, 0, 0x20000),
               errno: .invalidArgument),
        Misuse(name: "host-address change", setup: [region(0, 0, 0x10000)], request: region(0, 0, 0x10000, offset: 0x1000),
               errno: .invalidArgument),
        Misuse(name: "read-only toggle", setup: [region(0, 0, 0x10000)], request: region(0, 0, 0x10000, flags: .readOnly),
               errno: .invalidArgument),
        Misuse(name: "delete of a missing slot", setup: [], request: region(3, 0, 0), errno: .invalidArgument),
        Misuse(name: "unaligned guest address", setup: [], request: region(0, 0x800, 0x1000), errno: .invalidArgument),
        Misuse(name: "unaligned size", setup: [], request: region(0, 0, 0x1800), errno: .invalidArgument),
        Misuse(name: "slot index beyond the maximum", setup: [], request: region(32_764, 0, 0x1000), errno: .invalidArgument),
        Misuse(name: "address space beyond the maximum", setup: [], request: region(0, 0, 0x1000, addressSpace: 2),
               errno: .invalidArgument),
        Misuse(name: "unknown flag", setup: [], request: region(0, 0, 0x1000, flags: SlotFlags(rawValue: 1 << 7)),
               errno: .invalidArgument),
        Misuse(name: "moved onto another slot", setup: [region(0, 0, 0x10000), region(1, 0x20000, 0x10000, offset: 0x10000)],
               request: region(1, 0x8000, 0x10000, offset: 0x10000), errno: .fileExists),
    ]
}

@Suite struct SimulatedBackendTests {
    func backend() -> SimulatedBackend {
        let backend = SimulatedBackend()
        _ = backend.createBacking(BackingDescriptor(id: 1, size: 1 << 20))
        return backend
    }

    @Test(arguments: Misuse.table)
    func misuseGetsKVMsErrno(_ misuse: Misuse) throws {
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
        try sim.setUserMemoryRegion(Misuse.region(0, 0, 0x10000)).get()
        try sim.setUserMemoryRegion(Misuse.region(0, 0x40000, 0x10000)).get()  // move
        #expect(sim.installedSlots(addressSpace: 0).map(\.range.start) == [0x40000])
        try sim.setUserMemoryRegion(Misuse.region(0, 0x40000, 0x10000, flags: .logDirtyPages)).get()  // flags only
        #expect(sim.access(addressSpace: 0, gpa: 0x42010, isWrite: true) == .memory)
        let bitmap = try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get()
        #expect(bitmap == [1 << 2])
        #expect(try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get() == [0])  // cleared as read
        try sim.setUserMemoryRegion(Misuse.region(0, 0x40000, 0)).get()  // delete
        #expect(sim.installedSlots(addressSpace: 0).isEmpty)
        #expect(sim.access(addressSpace: 0, gpa: 0x42010, isWrite: false) == .mmioExit)
        #expect(throws: Errno.noSuchFileOrDirectory) { try sim.getDirtyLog(slot: SlotID(rawValue: 0)).get() }
    }

    @Test func hostRangeOutsideItsBackingIsRefused() {
        let sim = backend()
        #expect(throws: Errno.badAddress) { try sim.setUserMemoryRegion(Misuse.region(0, 0, 0x2000, offset: 0xFF000)).get() }
        #expect(throws: Errno.badAddress) {
            try sim.setUserMemoryRegion(UserMemoryRegion(
                slot: SlotID(rawValue: 0), flags: [], guestPhysAddr: 0, memorySize: 0x1000,
                host: BackingLocation(backing: 9, offset: 0))).get()
        }
    }

    @Test func writesToReadOnlySlotsExit() throws {
        let sim = backend()
        try sim.setUserMemoryRegion(Misuse.region(0, 0, 0x1000, flags: .readOnly)).get()
        #expect(sim.access(addressSpace: 0, gpa: 0x10, isWrite: false) == .memory)
        #expect(sim.access(addressSpace: 0, gpa: 0x10, isWrite: true) == .mmioExit)
    }
}
