import ArgumentParser
import KVMBackend
import MemoryModel
import Memslots
import Scenarios
import Harness
import JournalStore
import Sync
#if canImport(Glibc)
import Glibc
#endif

extension Durability: ExpressibleByArgument {}

/// Where `record -o` writes its journal.
struct JournalTarget {
    var path: String
    var durability: Durability
    /// Items the recorder holds for its writer before the run waits (nil: the recorder's default).
    var writerQueue: Int? = nil
}

/// The journal header for a run on `backend`: the run configuration plus what
/// the backend (and, on KVM, `/dev/kvm`) reported.
func journalHeader(_ configuration: RunConfiguration, scenario: any Scenario, backend: any MemslotBackend,
                   durability: Durability) -> JournalHeader
{
    var kvm: JournalHeader.KVMCapabilities?
    if let real = backend as? KVMBackend {
        kvm = JournalHeader.KVMCapabilities(
            apiVersion: Int(real.apiVersion), nrMemslots: Int(real.extensions[.nrMemslots] ?? 0),
            readonlyMem: (real.extensions[.readonlyMem] ?? 0) > 0,
            immediateExit: (real.extensions[.immediateExit] ?? 0) > 0,
            multiAddressSpace: Int(real.extensions[.multiAddressSpace] ?? 0))
    }
    return JournalHeader(
        backend: backend.name, kvm: kvm, capabilities: backend.capabilities,
        maxSlotSize: scenario.maxSlotSize, vcpus: configuration.vcpus,
        wait: configuration.wait, inhibit: configuration.inhibit, scenario: scenario.name,
        seed: configuration.seed, durability: durability)
}

/// Runs a scenario and reports what happened; with a journal target, a
/// `JournalRecorder` writes every transaction and fault to it as they happen.
func runScenario(
    _ configuration: RunConfiguration, scenario: (any Scenario)? = nil, journal: JournalTarget? = nil,
    progress: ProgressLine? = nil
) throws -> RunSummary {
    try withJournalErrors {
        let scenario = scenario ?? configuration.scenario.make(configuration.options)
        let backend = try ScenarioRunner.makeBackend(for: configuration)
        let recorder = try journal.map {
            try JournalRecorder(path: $0.path, header: journalHeader(
                configuration, scenario: scenario, backend: backend, durability: $0.durability),
                options: $0.writerQueue.map { JournalRecorder.Options(queueCapacity: $0) } ?? JournalRecorder.Options())
        }
        // The summary is tallied as transactions commit; nothing keeps them.
        let tally = RunTally(forwardingTo: recorder)
        let runner = try ScenarioRunner(configuration, scenario: scenario, backend: backend, observer: tally,
                                        keepingRecords: false)
        recorder?.recordConfiguration(
            backings: runner.machine.backings,
            regions: Dictionary(uniqueKeysWithValues: runner.machine.topology.addressSpaces.map { ($0.id, $0.sections) }))
        let start = MonotonicClock.now()
        let goal = configuration.transactions
        try runner.run { _ in progress?.update("\(runner.collector.recordCount)/\(goal) transactions") }
        progress?.finish()
        let elapsed = MonotonicClock.now() - start
        _ = try recorder?.close()
        return RunSummary(
            configuration: configuration, scenario: scenario.name, tally: tally, statistics: runner.vcpus.statistics,
            elapsedNs: elapsed)
    }
}
