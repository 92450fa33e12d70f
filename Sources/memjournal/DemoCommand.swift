import ArgumentParser
import Memslots
import Scenarios

/// The README's main job: shows the atomic update at work with embedded defaults.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run pam and split with 2 vCPUs, with and without the inhibit, and compare.",
        discussion: "Example: memjournal demo"
    )

    func run() throws {
        print("memjournal demo — simulated backend (the KVM backend is not built yet), 2 vCPU threads\n")
        var failed = false
        for scenario in [ScenarioKind.pam, .split] {
            for inhibit in [true, false] {
                let configuration = RunConfiguration(scenario: scenario, vcpus: 2, transactions: 400, inhibit: inhibit)
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
