import Foundation
import Testing
import Analysis
import Harness
import JournalFormats
import JournalStore
import Memslots
import Replay
import Scenarios
import Sync
import TestSupport
@testable import Reduction

/// `reduce`: real failures (an edited transaction that replay catches, spurious
/// faults without the inhibit, the non-atomic windows of real QEMU traces)
/// reduced to 1-minimal histories that still show them — each paired with a
/// control that shows the test sees the failure's absence.
@Suite struct ReductionTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    /// A seeded stepping run of `scenario` as journal contents.
    static func history(_ scenario: ScenarioKind, transactions: Int, inhibit: Bool = true, seed: UInt64 = 1) throws
        -> JournalContents
    {
        var configuration = RunConfiguration(
            scenario: scenario, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: transactions, seed: seed,
            inhibit: inhibit, vcpuMode: .stepping)
        configuration.drainTimeoutNs = nil
        let runner = try ScenarioRunner(configuration)
        try runner.run()
        var header = simHeader(configuration)
        header.cleanClose = true
        return JournalContents(
            header: header, backings: runner.machine.backings, regions: [:], records: runner.records, cutOff: [],
            faults: [], recorderStatistics: nil)
    }

    /// Reduces `input` under `predicate`; fails the test when the input does not show it.
    static func reduce(_ input: JournalContents, _ predicate: ReductionPredicate, derivation: Derivation? = nil) throws
        -> (outcome: HistoryReduction.Outcome, test: FailureTest, history: CandidateHistory)
    {
        guard case .success(let test) = try predicate.test(for: WalkedHistory(input)) else {
            Issue.record("the input does not show \(predicate)")
            throw CancellationError()
        }
        let history = try CandidateHistory(WalkedHistory(input), derivation: derivation ?? .natural(for: input.header))
        return (try HistoryReduction(history, keeping: test).run(), test, history)
    }

    /// Removing any one transaction of the result loses the failure.
    static func expectOneMinimal(_ outcome: HistoryReduction.Outcome, _ test: FailureTest, _ history: CandidateHistory)
        throws
    {
        #expect(try test.holds(outcome.history), "the result shows the failure")
        for index in outcome.transactions.indices {
            let smaller = outcome.transactions.removing(index..<index + 1)
            #expect(try !test.holds(history.history(smaller)),
                    "without its transaction \(index + 1) the result still fails: not 1-minimal")
        }
    }

    @Test func anEditedTransactionReducesToAtMostThreeThatDivergeTheSameWay() throws {
        var input = try Self.history(.random, transactions: 10_000)
        try #require(input.records.count >= 10_000)
        // Control: as recorded, replay does not diverge — nothing to reduce.
        guard case .failure = try ReductionPredicate.divergence(mode: .slotOps).test(for: WalkedHistory(input)) else {
            Issue.record("the unedited history already diverges")
            return
        }
        // The edit: the last operation of a transaction half-way through failed with EINVAL.
        let index = input.records.indices.first { $0 >= 5_000 && !input.records[$0].slotOps.isEmpty }!
        input.records[index].slotOps[input.records[index].slotOps.count - 1].errno = 22
        let editedKind = input.records[index].slotOps.last!.kind
        for mode in ReplayOptions.Mode.allCases {
            let (outcome, test, history) = try Self.reduce(input, .divergence(mode: mode))
            let reduced = try outcome.history.collected()
            #expect(reduced.records.count <= 3, "\(mode): \(reduced.records.count) transactions")
            let report = try ReplayEngine.run(ReplaySource(reduced, name: "min"),
                                              options: ReplayOptions(backend: .sim, mode: mode))
            let divergence = try #require(report.divergence)
            #expect(divergence.kind == .errno)
            let record = try #require(reduced.records.first { $0.sequence == divergence.sequence })
            #expect(record.slotOps[try #require(divergence.operation)].kind == editedKind)
            try Self.expectOneMinimal(outcome, test, history)
        }
    }

    @Test func faultsWithoutTheInhibitReduceToAtMostTwoTransactionsThatReplayCleanly() throws {
        // Control: with the inhibit the same run has no faults to keep.
        let protected = try Self.history(.split, transactions: 200)
        guard case .failure = try ReductionPredicate.faults(vcpus: 2, seed: 1).test(for: WalkedHistory(protected)) else {
            Issue.record("spurious faults with the inhibit on")
            return
        }
        let input = try Self.history(.split, transactions: 200, inhibit: false)
        let (outcome, test, history) = try Self.reduce(input, .faults(vcpus: 2, seed: 1))
        let reduced = try outcome.history.collected()
        #expect(reduced.records.count <= 2)
        try Self.expectOneMinimal(outcome, test, history)
        // A fixture: written, read back and checked like the others.
        let dir = makeTemporaryDirectory()
        try CanonicalJSONL.write(outcome.history, to: dir.file("min.jsonl"))
        let check = FixtureCheck.check(dir.file("min.jsonl"), backend: .sim)
        #expect(!check.failed && check.divergences.isEmpty, "\(check.line)")
        #expect(try CanonicalJSONL.read(dir.file("min.jsonl")) == reduced)
    }

    @Test(arguments: ["seabios-boot-qemu-7.2.log", "seabios-boot-qemu-7.2-no-timestamps.log"])
    func aRealQEMUTraceReducesToItsSmallestHazardousHistory(trace: String) throws {
        let input = try QEMUTraceImporter.read(Self.fixtures + "/qemu/" + trace).contents
        #expect(Derivation.natural(for: input.header) == .ioctls)
        let (outcome, test, history) = try Self.reduce(input, .hazard)
        let reduced = try outcome.history.collected()
        // A slot mapped, then deleted and part of it mapped again: two transactions, three ioctls.
        #expect(reduced.records.count == 2)
        #expect(reduced.records.reduce(0) { $0 + $1.slotOps.count } == 3)
        #expect(reduced.records.count < input.records.count)
        try Self.expectOneMinimal(outcome, test, history)
        // Every ioctl kept is one of the trace's, named after its line.
        let names = Set(input.records.flatMap(\.sections).map(\.section.regionName))
        #expect(reduced.records.flatMap(\.sections).allSatisfy { names.contains($0.section.regionName) })
    }

    @Test func theSameInputGivesTheSameBytes() throws {
        let input = try Self.history(.split, transactions: 100, inhibit: false)
        let first = try Self.reduce(input, .faults(vcpus: 2, seed: 3)).outcome
        let second = try Self.reduce(input, .faults(vcpus: 2, seed: 3)).outcome
        #expect(CanonicalJSONL.encode(try first.history.collected()) == CanonicalJSONL.encode(try second.history.collected()))
        #expect(first.evaluations == second.evaluations)
    }

    @Test func aHistoryWithGapsInItsSequenceNumbersIsReadByPosition() throws {
        // Transactions cut off or left out leave holes: candidates count positions, not numbers.
        var input = try Self.history(.split, transactions: 200, inhibit: false)
        input.records = input.records.enumerated().filter { $0.offset % 7 != 3 && !(40..<60).contains($0.offset) }.map(\.element)
        let history = try CandidateHistory(WalkedHistory(input), derivation: .listener)
        #expect(history.count == input.records.count)
        #expect(input.records.indices.map(history.sequence(at:)) == input.records.map(\.sequence))
        // Each transaction alone is read from its own record (control: its neighbour's would differ).
        for position in [0, 3, 39, 40, history.count - 1] {
            let read = try history.read(history.transactions[position])
            #expect(read.first == input.records[position])
            #expect(read.first != input.records[position == 0 ? 1 : position - 1])
        }
        let (outcome, test, reduced) = try Self.reduce(input, .faults(vcpus: 2, seed: 1))
        #expect(try outcome.history.collected().records.count <= 2)
        try Self.expectOneMinimal(outcome, test, reduced)
    }

    @Test func everyCandidateIsAHistoryTheListenerWouldProduce() throws {
        // Any subset of transactions, re-derived, replays in sections mode without divergence.
        let input = try Self.history(.pam, transactions: 120)
        let history = try CandidateHistory(WalkedHistory(input), derivation: .listener)
        #expect(history.departingTransactions.isEmpty, "a simulated recording is what the listener derives")
        var rng = SeededRandom(seed: 9)
        for _ in 0..<5 {
            let subset = CandidateList(history.transactions.filter { _ in rng.next() % 3 != 0 })
            let report = try ReplayEngine.run(ReplaySource(history.history(subset), name: "subset"),
                                              options: ReplayOptions(mode: .sections))
            #expect(report.divergence == nil, "\(report.divergence.map(String.init(describing:)) ?? "")")
        }
    }
}

extension WalkedHistory {
    /// The whole history in memory, as a journal read whole holds it (a reduced one is small).
    func collected() throws -> JournalContents {
        var records: [TransactionRecord] = []
        var cursor = self.records.makeCursor()
        while let record = try cursor.next() { records.append(record) }
        return JournalContents(header: header, backings: backings, regions: [:], records: records, cutOff: [],
                               faults: [], recorderStatistics: .unrecorded)
    }
}
