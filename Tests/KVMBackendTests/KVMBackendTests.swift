import KVMBackend
import MemoryModel
import Memslots
import Scenarios
import SystemPackage
import Testing
import TestSupport
import Harness
import Sync


extension MemslotMisuse: CustomTestStringConvertible {
    public var testDescription: String { name }
}

/// Every wrapper fails cleanly, with EBADF, on a descriptor that is not open.
@Suite struct BadDescriptorTests {
    @Test func everyWrapperReportsEBADF() {
        let device = KVMDevice(borrowing: -1)
        #expect(throws: Errno.badFileDescriptor) { try device.apiVersion().get() }
        #expect(throws: Errno.badFileDescriptor) { try device.checkExtension(.nrMemslots).get() }
        #expect(throws: Errno.badFileDescriptor) { try device.createVM().get() }
        #expect(throws: Errno.badFileDescriptor) { try device.vcpuMmapSize().get() }
        let vm = KVMVMDescriptor(borrowing: -1)
        #expect(throws: Errno.badFileDescriptor) { try vm.checkExtension(.readonlyMem).get() }
        #expect(throws: Errno.badFileDescriptor) { try vm.createVCPU(id: 0).get() }
        #expect(throws: Errno.badFileDescriptor) {
            try vm.unsafeSetUserMemoryRegion(slot: 0, flags: 0, guestPhysAddr: 0, memorySize: 0, userspaceAddr: 0).get()
        }
        var bitmap = [UInt64](repeating: 0, count: 1)
        #expect(throws: Errno.badFileDescriptor) { try vm.getDirtyLog(slot: 0, into: &bitmap).get() }
        let vcpu = KVMVCPUDescriptor(borrowing: -1)
        #expect(throws: Errno.badFileDescriptor) { try vcpu.run().get() }
        #expect(throws: Errno.badFileDescriptor) { try vcpu.setupFlatProtectedMode(entry: 0, esi: 0).get() }
        #expect(throws: Errno.noSuchFileOrDirectory) { try KVMDevice.open("/nonexistent/kvm").get() }
    }
}

@Suite(requiresKVM, .serialized)
struct KVMBackendTests {
    @Test func vmLifecycleAndGuestProgress() throws {
        let runner = try ScenarioRunner(RunConfiguration(scenario: .hotplug, backend: .kvm, vcpus: 2, transactions: 1))
        let vcpus = try #require(runner.vcpus as? KVMVCPUs)
        #expect(vcpus.progress(vcpu: 0) == 0)
        vcpus.start()
        var spins = 0
        while vcpus.progress(vcpu: 0) < 1000 || vcpus.progress(vcpu: 1) < 1000, spins < 5000 {
            MonotonicClock.sleep(nanoseconds: 1_000_000)
            spins += 1
        }
        vcpus.stop()
        #expect(vcpus.fatalExit == nil)
        #expect(vcpus.progress(vcpu: 0) >= 1000 && vcpus.progress(vcpu: 1) >= 1000)
        // The guest really wrote RAM: the counter the first target points at moved.
        #expect(vcpus.statistics.spuriousFaults == 0)
    }

    @Test(arguments: MemslotMisuse.table)
    func kvmAnswersTheSameErrnoAsTheSimulation(_ misuse: MemslotMisuse) throws {
        let kvm = try KVMBackend()
        if misuse.needsReadOnlyMemory && !kvm.capabilities.readOnlyMemory { return }
        try kvm.createBacking(BackingDescriptor(id: 1, size: MemslotMisuse.backingSize)).get()
        for request in misuse.setup {
            #expect(throws: Never.self) { try kvm.setUserMemoryRegion(request).get() }
        }
        #expect(throws: misuse.errno) { try kvm.setUserMemoryRegion(misuse.request).get() }
        let sim = SimulatedBackend()
        _ = sim.createBacking(BackingDescriptor(id: 1, size: MemslotMisuse.backingSize))
        for request in misuse.setup { _ = sim.setUserMemoryRegion(request) }
        #expect(throws: misuse.errno) { try sim.setUserMemoryRegion(misuse.request).get() }
    }

    /// KVM selftest `set_memory_region_test`: fill every slot, then one more fails.
    @Test func fillingEverySlotThenOneMoreFails() throws {
        let kvm = try KVMBackend()
        let slots = kvm.capabilities.maxSlots
        try kvm.createBacking(BackingDescriptor(id: 1, size: UInt64(slots) * 4096)).get()
        for index in 0..<slots {
            let request = UserMemoryRegion(
                slot: SlotID(index: UInt16(index), addressSpace: 0), flags: [], guestPhysAddr: UInt64(index) * 4096,
                memorySize: 4096, host: BackingLocation(backing: 1, offset: UInt64(index) * 4096))
            try kvm.setUserMemoryRegion(request).get()
        }
        #expect(kvm.installedSlots(addressSpace: 0).count == slots)
        let oneMore = UserMemoryRegion(
            slot: SlotID(index: UInt16(slots), addressSpace: 0), flags: [], guestPhysAddr: UInt64(slots) * 4096,
            memorySize: 4096, host: BackingLocation(backing: 1, offset: 0))
        #expect(throws: Errno.invalidArgument) { try kvm.setUserMemoryRegion(oneMore).get() }
    }

    /// KVM selftest: deleting a slot under a running guest makes its accesses exit
    /// as MMIO at that address (genuine exits: the committed view agrees).
    @Test func deletingASlotUnderARunningGuestGivesMMIOExitsThere() throws {
        let kvm = try KVMBackend()
        let machine = Machine(backend: kvm, configuration: .init(vcpus: 1))
        let root = MemoryRegion.container("system", size: .max)
        let extra = MemoryRegion.ram("extra", size: 0x10000, at: try machine.addBacking(size: 0x10000))
        try root.addSubregion(extra, at: 0x2000_0000)
        try machine.addAddressSpace(id: 0, name: "memory", root: root)
        let code = try KVMVCPUs.attachGuestCode(to: machine)
        let vcpus = try KVMVCPUs(
            count: 1, backend: kvm, machine: machine, codeRegion: code, targets: [VCPUTarget(gpa: 0x2000_0000)],
            observer: nil)
        vcpus.start()
        MonotonicClock.sleep(nanoseconds: 20_000_000)
        try machine.transaction { try root.removeSubregion(extra) }
        var waited = 0
        while vcpus.mmioExitAddresses[0x2000_0000, default: 0] < 10, waited < 2000 {
            MonotonicClock.sleep(nanoseconds: 1_000_000)
            waited += 1
        }
        vcpus.stop()
        #expect(vcpus.fatalExit == nil)
        #expect(vcpus.mmioExitAddresses[0x2000_0000, default: 0] >= 10)
        #expect(vcpus.statistics.spuriousFaults == 0)
    }

    /// The claim on real KVM: 2 vCPUs, ≥ 1,000 overlapping transactions, no spurious
    /// fault with the inhibit; without it (the control, repeated until it shows one,
    /// at most 5 times) faults appear.
    @Test(arguments: [ScenarioKind.split, .pam])
    func atomicityOnRealKVM(_ kind: ScenarioKind) throws {
        let runner = try ScenarioRunner(RunConfiguration(scenario: kind, backend: .kvm, vcpus: 2, transactions: 1000))
        try runner.run()
        let overlapping = runner.records.count { $0.decision.overlaps && $0.timing.inhibited }
        #expect(overlapping >= 1000)
        #expect((runner.vcpus as? KVMVCPUs)?.fatalExit == nil)
        #expect(runner.vcpus.statistics.accesses > 1000, "the guest must really have run")
        #expect(runner.vcpus.statistics.spuriousFaults == 0)

        var controlFaults = 0
        for attempt in 1...5 where controlFaults == 0 {
            let control = try ScenarioRunner(RunConfiguration(
                scenario: kind, backend: .kvm, vcpus: 2, transactions: 1000, seed: UInt64(attempt), inhibit: false))
            try control.run()
            controlFaults = control.vcpus.statistics.spuriousFaults
        }
        #expect(controlFaults > 0)
    }
}
