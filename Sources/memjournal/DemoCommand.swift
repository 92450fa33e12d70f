import ArgumentParser
import KVMBackend
import Memslots
import Scenarios

/// The README's main job: shows the atomic update at work with embedded defaults.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run pam and split with 2 vCPUs, with and without the inhibit, and compare.",
        discussion: """
            Uses a real VM from /dev/kvm when it opens, else the simulated backend (and says why).
            Example: memjournal demo
            """
    )

    func run() throws {
        let backend: RunConfiguration.Backend
        switch KVMBackend.availability() {
        case .success:
            backend = .kvm
            print("memjournal demo — real KVM VM, 2 vCPU threads running guest code\n")
        case .failure(let errno):
            backend = .sim
            print("memjournal demo — /dev/kvm cannot be opened (\(errno)); using the simulated backend\n")
        }
        var failed = false
        for scenario in [ScenarioKind.pam, .split] {
            for inhibit in [true, false] {
                var configuration = RunConfiguration(
                    scenario: scenario, backend: backend, vcpus: 2, transactions: 400, inhibit: inhibit)
                configuration.intervalNs = 100_000
                let summary = try runScenario(configuration)
                print(summary.text + "\n")
                if inhibit && summary.spuriousFaults > 0 { failed = true }
            }
        }
        print(failed
            ? "UNEXPECTED: spurious faults with the inhibit on."
            : "With the inhibit: 0 spurious faults. Without it, vCPUs fall into the window between delete and add.")
        if failed { throw ExitStatus.found }
    }
}
