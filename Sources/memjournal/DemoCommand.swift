import ArgumentParser
import Foundation
import KVMBackend
import Memslots
import Replay
import Scenarios
import Harness
import Sync

/// The README's main job: the whole loop with embedded defaults — record, compare
/// with the inhibit off, replay and verify, and say where the journals are.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Record pam and split with 2 vCPUs, show what the inhibit prevents, replay and verify.",
        discussion: """
            Uses a real VM from /dev/kvm when it opens, else the simulated backend (and says why). \
            Journals go to a new directory under $TMPDIR (or /tmp).
            Example: memjournal demo
            """
    )

    func run() throws {
        let backend: Backend
        switch KVMBackend.availability() {
        case .success:
            backend = .kvm
            print("memjournal demo: real KVM VM from /dev/kvm, 2 vCPU threads running guest code\n")
        case .failure(let errno):
            backend = .sim
            print("memjournal demo: /dev/kvm cannot be opened (\(errno)); using the simulated backend instead\n")
        }
        let directory = try makeDemoDirectory()
        var journals: [String] = []
        var problems: [String] = []

        for scenario in [ScenarioKind.pam, .split] {
            print("== \(scenario.rawValue): \(scenario.summary)")
            var configuration = RunConfiguration(scenario: scenario, backend: backend, vcpus: 2, transactions: 400)
            configuration.intervalNs = 100_000
            let path = "\(directory)/\(scenario.rawValue).journal"
            let with = try runScenario(configuration, journal: JournalTarget(path: path, durability: .normal))
            journals.append(path)
            print(with.text)
            if with.spuriousFaults > 0 { problems.append("\(scenario.rawValue): spurious faults with the inhibit on") }

            configuration.inhibit = false
            let without = try runScenario(configuration)
            print("  without the inhibit: \(without.spuriousFaults) spurious fault(s) in \(without.transactions) "
                + "transactions — the faults the inhibit prevents")
            if without.spuriousFaults == 0 { print("  (no fault this time: the window was missed; rerun to see it)") }

            let (source, _) = try replaySource(journal: path, verify: true)
            for mode in ReplayOptions.Mode.allCases {
                let report = try ReplayEngine.run(
                    source, options: ReplayOptions(backend: backend == .kvm ? .kvm : .sim, mode: mode))
                let verdict = report.divergence.map { "DIVERGED: \($0)" } ?? "no divergence"
                print(String(format: "  replay (%@ mode): %d transactions, %.0f/s, %@", mode.rawValue,
                             report.applied, report.transactionsPerSecond, verdict))
                if report.divergence != nil { problems.append("\(scenario.rawValue): replay diverged") }
            }
            print("")
        }

        print("Journals: \(directory)")
        if let first = journals.first {
            print("Look inside:")
            print("  memjournal inspect \(first) summary")
            print("  memjournal inspect \(first) list --inhibited")
            print("  memjournal inspect \(first) show 5")
            print("  memjournal inspect \(first) map --at 5")
            print("  memjournal replay \(first) --mode slot-ops --vcpus 2")
            print("  sqlite3 \(first) 'select * from transaction_summary limit 10'")
        }
        if problems.isEmpty {
            print("\nWith the inhibit: 0 spurious faults, and every journal replays without divergence.")
        } else {
            print("\nUNEXPECTED: " + problems.joined(separator: "; "))
            throw ExitStatus.found
        }
    }

    /// A new private directory for this run's journals (mkdtemp: never an old or
    /// pre-created one), kept for the user to inspect.
    private func makeDemoDirectory() throws -> String {
        do {
            let directory = try TemporaryDirectory(prefix: "memjournal-demo")
            directory.keep()
            return directory.path
        } catch {
            var standardError = StandardError()
            print("memjournal: cannot create a demo directory under \(TemporaryDirectory.base): \(error)",
                  to: &standardError)
            throw ExitStatus.ioError
        }
    }
}
