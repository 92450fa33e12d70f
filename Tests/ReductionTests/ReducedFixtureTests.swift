import Foundation
import Testing
import JournalFormats
import JournalStore
import Replay
import TestSupport
@testable import Reduction

/// The committed reduced fixtures (`fixtures/reduced/`): whole through a journal,
/// still failing the way their comment says, and already minimal.
struct ReducedFixtureTests {
    static let directory = ReductionTests.fixtures + "/reduced"

    /// What each fixture keeps (a new fixture needs an entry here).
    static let kept: [String: ReductionPredicate] = [
        "split-no-inhibit-faults.jsonl": .faults(vcpus: 2, seed: 1),
        "seabios-boot-hazard.jsonl": .hazard,
    ]

    static let names: [String] = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
        .filter { $0.hasSuffix(".jsonl") }.sorted() ?? []

    @Test func everyReducedFixtureSaysWhatItKeeps() {
        #expect(Set(Self.names) == Set(Self.kept.keys))
    }

    @Test(arguments: names)
    func stillFailsSurvivesAJournalAndCannotBeReducedFurther(_ name: String) throws {
        let path = Self.directory + "/" + name
        let contents = try CanonicalJSONL.read(path)
        #expect(contents.header.comment?.hasPrefix("reduced by `memjournal reduce") == true)
        // Through a journal and back, byte for byte (the comment included).
        let dir = makeTemporaryDirectory()
        try CanonicalJSONL.importFile(path, to: dir.file("j.journal"))
        try CanonicalJSONL.export(journal: dir.file("j.journal"), to: dir.file("back.jsonl"))
        #expect(FileManager.default.contents(atPath: dir.file("back.jsonl")) == FileManager.default.contents(atPath: path))
        // Still failing, and reducing it again keeps every transaction.
        let predicate = try #require(Self.kept[name])
        guard case .success(let test) = try predicate.test(for: WalkedHistory(contents)) else {
            Issue.record("\(name) no longer shows \(predicate)")
            return
        }
        let history = try CandidateHistory(WalkedHistory(contents), derivation: .natural(for: contents.header))
        let outcome = try HistoryReduction(history, keeping: test).run()
        #expect(try outcome.history.collected().records == contents.records)
    }

    @Test func theFaultsFixtureReplaysCleanly() {
        let result = FixtureCheck.check(Self.directory + "/split-no-inhibit-faults.jsonl", backend: .sim)
        #expect(!result.failed && result.divergences.isEmpty, "\(result.line)")
    }
}
