import Foundation
import KVMBackend
import Scenarios
import Testing

/// A finished run gives back its VM: no file descriptor (/dev/kvm, VM, vCPUs,
/// memfds) outlives the runner. Reference cycles between the address space and
/// its listeners, or the blocker and its vCPUs, once kept every VM alive.
@Suite(.enabled(if: KVMHost.available, "/dev/kvm cannot be opened on this machine"), .serialized)
struct ResourceReleaseTests {
    @Test func runsReleaseTheirVMs() throws {
        func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }
        let before = openDescriptors()
        for kind in [ScenarioKind.split, .dirtyLog] {
            var configuration = RunConfiguration(scenario: kind, backend: .kvm, vcpus: 2, transactions: 50)
            configuration.intervalNs = 0
            let runner = try ScenarioRunner(configuration)
            try runner.run()
            #expect(openDescriptors() > before, "a live VM holds descriptors")
        }
        #expect(openDescriptors() == before)
    }
}
