import ArgumentParser
import Journal
import MemoryModel
import Memslots
import Scenarios
#if canImport(Glibc)
import Glibc
#endif

extension Durability: ExpressibleByArgument {}

/// Runs a scenario while a `JournalRecorder` writes every transaction and fault
/// to the journal at `path` (`record -o J`). The header is filled from the run
/// configuration and the simulated backend's capabilities.
func runScenario(_ configuration: RunConfiguration, journal path: String, durability: Durability) throws -> RunSummary {
    try withJournalErrors {
        let header = JournalHeader(
            backend: "sim", capabilities: .x86KVM,
            maxSlotSize: configuration.scenario.make(configuration.options).maxSlotSize, vcpus: configuration.vcpus,
            wait: configuration.wait, inhibit: configuration.inhibit, scenario: configuration.scenario.rawValue,
            seed: configuration.seed, durability: durability)
        let recorder = try JournalRecorder(path: path, header: header)
        let runner = try ScenarioRunner(configuration, observer: recorder)
        recorder.recordConfiguration(
            backings: runner.machine.backings,
            regions: Dictionary(uniqueKeysWithValues: runner.machine.topology.addressSpaces.map { ($0.id, $0.sections) }))
        let start = MonotonicClock.now()
        try runner.run()
        let elapsed = MonotonicClock.now() - start
        try recorder.close()
        return RunSummary(
            configuration: configuration, records: runner.records, statistics: runner.vcpus.statistics,
            elapsedNs: elapsed)
    }
}

/// Runs `body`, turning a `JournalError` into its message on stderr and its
/// documented exit code.
func withJournalErrors<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as JournalError {
        var standardError = StandardError()
        print("memjournal: \(error)", to: &standardError)
        throw ExitCode(error.exitCode)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
