import KVMBackend
import Memslots
import Scenarios
import Testing
import TestSupport
import Harness

/// A finished run gives back its VM: once the runner is gone, so are its KVM
/// backend (VM fd, guest memory) and its vCPUs (vCPU fds, kvm_run mappings).
/// Reference cycles between the address space and its listeners, or the blocker
/// and its vCPUs, once kept every VM alive.
@Suite(requiresKVM, .serialized)
struct ResourceReleaseTests {
    @Test(arguments: [ScenarioKind.split, .dirtyLog])
    func runsReleaseTheirVMs(_ kind: ScenarioKind) throws {
        weak var backend: KVMBackend?
        weak var vcpus: KVMVCPUs?
        try {
            var configuration = RunConfiguration(scenario: kind, backend: .kvm, vcpus: 2, transactions: 50)
            configuration.intervalNs = 0
            let runner = try ScenarioRunner(configuration)
            try runner.run()
            backend = runner.machine.backend as? KVMBackend
            vcpus = runner.vcpus as? KVMVCPUs
            #expect(backend != nil && vcpus != nil)
        }()
        #expect(backend == nil, "the KVM backend (and its VM) outlived its runner")
        #expect(vcpus == nil, "the vCPUs outlived their runner")
    }
}
