import ArgumentParser
import Foundation
import Memslots
import Replay
import Scenarios
import Sync
import Harness
import JournalStore
import JournalFormats

/// Regression fixtures: small canonical journals replayed by the tests.
struct FixtureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixture",
        abstract: "Check (or regenerate) the regression fixtures.",
        subcommands: [FixtureCheckCommand.self, FixtureMakeCommand.self]
    )
}

struct FixtureCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Replay every fixture in both modes, one line each; exit 1 if any diverges.",
        discussion: """
            A divergence explained by a known difference between backends (e.g. no SMM address \
            space on this KVM) is printed as 'differs' and does not fail the check. A fixture may be \
            canonical JSONL or a journal; a journal is verified first (inspect J verify) and a damaged \
            one is refused (exit 65) unless --no-verify.
            Examples:
              memjournal fixture check fixtures --backend kvm
              memjournal fixture check minimal.journal
            """
    )

    @Argument(help: "A directory of .jsonl/.journal fixtures, or one fixture file.") var directory: String = "fixtures"
    @Option(help: "Backend: sim or kvm.") var backend: Backend = .sim
    @Flag(help: "Do not verify journal fixtures before replaying them.") var noVerify = false

    func run() throws {
        let paths: [String]
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            paths = [directory]
        } else {
            do { paths = try FixtureCheck.fixtures(in: directory) } catch {
                var standardError = StandardError()
                print("memjournal: \(directory): cannot list fixtures: \(error)", to: &standardError)
                throw ExitStatus.noInput
            }
        }
        guard !paths.isEmpty else {
            var standardError = StandardError()
            print("memjournal: \(directory): no .jsonl fixtures here", to: &standardError)
            throw ExitStatus.noInput
        }
        var failures = 0
        var refusal: JournalError?
        for path in paths {
            let result = FixtureCheck.check(path, backend: backend, verify: !noVerify)
            print(result.line)
            if result.failed { failures += 1 }
            refusal = refusal ?? result.refusal
        }
        print("\(paths.count - failures) of \(paths.count) fixture(s) replay on \(backend.rawValue)")
        // A fixture refused as input (missing, not a journal, damaged) exits with that refusal's code.
        if let refusal { throw ExitCode(refusal.exitCode) }
        if failures > 0 { throw ExitStatus.found }
    }
}

struct FixtureMakeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make",
        abstract: "Record every scenario and edge case (seeded, simulated, stepping) as a canonical fixture.",
        discussion: "Existing files are never overwritten. Example: memjournal fixture make new-fixtures"
    )

    @Argument(help: "Directory to write the .jsonl fixtures into (created if missing).") var directory: String

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var cases: [(String, RunConfiguration, any Scenario)] = []
        for kind in ScenarioKind.allCases {
            let configuration = fixtureConfiguration(kind, transactions: 150)
            cases.append((kind.rawValue, configuration, kind.make(configuration.options)))
        }
        for edge in FixtureCase.allCases {
            cases.append((edge.rawValue, fixtureConfiguration(.split, transactions: edge.steps), edge.make()))
        }
        // Each fixture's journal lives in a private directory beside its output,
        // named for this process: what a killed run left is removed first, for
        // every fixture, before anything can stop this run.
        for (name, _, _) in cases { removeStalePartials(of: "\(directory)/\(name).jsonl") }
        for (name, configuration, scenario) in cases {
            let output = "\(directory)/\(name).jsonl"
            let scratch = try TemporaryDirectory(beside: output)
            let journal = scratch.file("journal")
            _ = try runScenario(configuration, scenario: scenario,
                                journal: JournalTarget(path: journal, durability: .normal))
            try withJournalErrors { try CanonicalJSONL.export(journal: journal, to: output) }
            print("wrote \(output)")
        }
    }

    private func fixtureConfiguration(_ kind: ScenarioKind, transactions: Int) -> RunConfiguration {
        RunConfiguration(
            scenario: kind, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: transactions, seed: 1,
            vcpuMode: .stepping)
    }
}
