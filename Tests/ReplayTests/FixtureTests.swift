import Foundation
import MemoryModel
import Memslots
import Replay
import Testing
import TestSupport
import JournalFormats
import JournalStore

/// The committed fixtures, found relative to this file.
enum Fixtures {
    static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    static let paths: [String] = (try? FixtureCheck.fixtures(in: directory)) ?? []
    static var names: [String] { paths.map { ($0 as NSString).lastPathComponent } }

    static func temporary(_ name: String) -> String {
        scratchPath(name)
    }
}

@Suite struct FixtureTests {
    @Test func thereIsAFixturePerScenarioAndEdgeCase() {
        #expect(Fixtures.paths.count >= 16, "fixtures in \(Fixtures.directory)")
    }

    @Test(arguments: Fixtures.names)
    func importThenExportIsByteIdentical(_ name: String) throws {
        let fixture = "\(Fixtures.directory)/\(name)"
        let journal = Fixtures.temporary("rt.journal")
        let again = Fixtures.temporary("rt.jsonl")
        defer {
            JournalSideFiles.removeAll(journal)
            unlink(again)
        }
        try CanonicalJSONL.importFile(fixture, to: journal)
        try CanonicalJSONL.export(journal: journal, to: again)
        let original = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let exported = try Data(contentsOf: URL(fileURLWithPath: again))
        #expect(original == exported)
        #expect(original.count > 1000)
    }

    @Test(arguments: Fixtures.names)
    func replaysWithoutDivergenceOnSim(_ name: String) {
        let result = FixtureCheck.check("\(Fixtures.directory)/\(name)", backend: .sim)
        #expect(result.error == nil && result.divergences.isEmpty, "\(result.line)")
        #expect(result.transactions > 10)
    }

    @Test(requiresKVM, arguments: Fixtures.names)
    func replaysOnKVMOrExplainsTheDifference(_ name: String) {
        let result = FixtureCheck.check("\(Fixtures.directory)/\(name)", backend: .kvm)
        #expect(!result.failed, "\(result.line)")
    }

    /// A copy of a fixture with one field changed — written out and read back as
    /// canonical text — makes replay name that transaction and that field.
    @Test func tamperedFixtureCopiesAreCaught() throws {
        let contents = try CanonicalJSONL.read("\(Fixtures.directory)/split.jsonl")
        let tampering = try Tampering(contents.records)
        let sequence = tampering.sequence
        var moved = contents, errno = contents, decision = contents
        moved.records = tampering.moved
        errno.records = tampering.errno
        decision.records = tampering.decision

        for (tampered, mode, kind) in [
            (moved, ReplayOptions.Mode.sections, Divergence.Kind.operation), (moved, .slotOps, .digest),
            (errno, .sections, .errno), (errno, .slotOps, .errno), (decision, .sections, .decision),
        ] {
            let path = Fixtures.temporary("tampered.jsonl")
            defer { unlink(path) }
            try Data(CanonicalJSONL.encode(tampered)).write(to: URL(fileURLWithPath: path))
            let report = try ReplayEngine.run(
                ReplaySource(try CanonicalJSONL.read(path), name: "tampered"), options: ReplayOptions(mode: mode))
            let divergence = try #require(report.divergence, "\(mode) \(kind)")
            #expect(divergence.sequence == sequence)
            #expect(divergence.kind == kind, "\(divergence)")
        }
    }
}
