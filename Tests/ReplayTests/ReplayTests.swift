import JournalStore
import KVMBackend
import MemoryModel
import Memslots
import Replay
import Scenarios
import Testing
import TestSupport
import Harness

/// Records a scenario (seeded stepping on the simulated backend unless told otherwise).
func recorded(_ kind: ScenarioKind, transactions: Int = 120, backend: Backend = .sim,
              inhibit: Bool = true, seed: UInt64 = 5) throws -> ReplaySource {
    var configuration = RunConfiguration(
        scenario: kind, backend: backend, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: transactions,
        seed: seed, inhibit: inhibit, vcpuMode: backend == .sim ? .stepping : .threads)
    configuration.intervalNs = 0
    let runner = try ScenarioRunner(configuration)
    try runner.run()
    let listener = try #require(runner.machine.listeners[0])
    return ReplaySource(
        name: "\(kind)", backings: runner.machine.backings, records: runner.records,
        maxSlotSize: listener.maxSlotSize, inhibit: inhibit, wait: .event)
}

extension RecordSequence {
    /// The records of an in-memory source (every source these tests build by recording).
    var inMemory: [TransactionRecord] {
        guard case .memory(let records) = self else { return [] }
        return records
    }
}

@Suite struct ReplayTests {
    @Test(arguments: ScenarioKind.allCases)
    func everyScenarioReplaysInBothModes(_ kind: ScenarioKind) throws {
        let source = try recorded(kind)
        for mode in ReplayOptions.Mode.allCases {
            let report = try ReplayEngine.run(source, options: ReplayOptions(mode: mode))
            #expect(report.divergence == nil, "\(kind) \(mode): \(report.divergence.map { "\($0)" } ?? "")")
            #expect(report.applied == source.records.count)
            #expect(report.finalDigest == source.records.inMemory.last?.digest)
        }
    }

    @Test func twoReplaysProduceIdenticalDigests() throws {
        let source = try recorded(.random, transactions: 200)
        let a = try ReplayEngine.run(source, options: ReplayOptions(mode: .sections))
        let b = try ReplayEngine.run(source, options: ReplayOptions(mode: .sections))
        #expect(a.finalDigest != nil && a.finalDigest == b.finalDigest)
        #expect(a.applied == source.records.count && b.applied == a.applied)
    }

    @Test func rangeLimitsWhatIsCompared() throws {
        let source = try recorded(.pam)
        let report = try ReplayEngine.run(source, options: ReplayOptions(mode: .slotOps, from: 10, to: 20))
        #expect(report.compared == 11 && report.firstCompared == 10 && report.lastCompared == 20)
        #expect(report.applied == source.records.count)
    }

    /// Changing one field in a copy of the records makes replay report that
    /// transaction and that kind of divergence.
    @Test func tamperingIsCaught() throws {
        let source = try recorded(.split)
        let tampering = try Tampering(source.records.inMemory)
        let sequence = tampering.sequence, create = tampering.create
        var range = source, errno = source, decision = source
        range.records = .memory(tampering.moved)
        errno.records = .memory(tampering.errno)
        decision.records = .memory(tampering.decision)

        for (tampered, mode, kind, operation) in [
            (range, ReplayOptions.Mode.sections, Divergence.Kind.operation, create as Int?),
            (errno, .sections, .errno, 0), (errno, .slotOps, .errno, 0),
            (decision, .sections, .decision, nil),
        ] {
            let report = try ReplayEngine.run(tampered, options: ReplayOptions(mode: mode))
            let divergence = try #require(report.divergence, "\(mode) \(kind)")
            #expect(divergence.sequence == sequence)
            #expect(divergence.kind == kind)
            #expect(divergence.operation == operation)
            #expect(divergence.expected != divergence.actual)
        }
        // slot-ops mode re-issues the tampered range: KVM's rules and the digest catch it.
        let report = try ReplayEngine.run(range, options: ReplayOptions(mode: .slotOps))
        #expect(report.divergence?.sequence == sequence)
    }

    @Test func vcpusDuringReplaySeeFaultsOnlyWithoutTheInhibit() throws {
        let inhibited = try recorded(.split, transactions: 400)
        let clean = try ReplayEngine.run(inhibited, options: ReplayOptions(mode: .slotOps, vcpus: 2))
        #expect(clean.divergence == nil)
        #expect(clean.vcpuTargets > 0)
        #expect((clean.statistics?.accesses ?? 0) > 0)
        #expect(clean.statistics?.spuriousFaults == 0)
    }
}

@Suite(requiresKVM, .serialized)
struct CrossBackendReplayTests {
    @Test func kvmJournalReplaysOnSimAndSimJournalOnKVM() throws {
        let onKVM = try recorded(.pam, transactions: 150, backend: .kvm)
        for mode in ReplayOptions.Mode.allCases {
            let report = try ReplayEngine.run(onKVM, options: ReplayOptions(backend: .sim, mode: mode))
            #expect(report.divergence == nil, "\(mode): \(report.divergence.map { "\($0)" } ?? "")")
        }
        let onSim = try recorded(.pam, transactions: 150)
        for mode in ReplayOptions.Mode.allCases {
            let report = try ReplayEngine.run(onSim, options: ReplayOptions(backend: .kvm, mode: mode))
            #expect(report.divergence == nil, "\(mode): \(report.divergence.map { "\($0)" } ?? "")")
        }
    }

    /// A journal recorded without the inhibit, replayed as recorded with vCPUs,
    /// shows spurious faults; `--atomic` shows none.
    @Test func asRecordedShowsFaultsAtomicShowsNone() throws {
        let source = try recorded(.split, transactions: 400, backend: .kvm, inhibit: false)
        let atomic = try ReplayEngine.run(source, options: ReplayOptions(backend: .kvm, mode: .slotOps, vcpus: 2, atomic: true))
        #expect(atomic.divergence == nil)
        #expect(atomic.vcpuFailure == nil)
        #expect((atomic.statistics?.accesses ?? 0) > 0)
        #expect(atomic.statistics?.spuriousFaults == 0)
        var faults = 0
        for _ in 1...5 where faults == 0 {
            let asRecorded = try ReplayEngine.run(source, options: ReplayOptions(backend: .kvm, mode: .slotOps, vcpus: 2))
            #expect(asRecorded.divergence == nil)
            faults = asRecorded.statistics?.spuriousFaults ?? 0
        }
        #expect(faults > 0)
    }
}
