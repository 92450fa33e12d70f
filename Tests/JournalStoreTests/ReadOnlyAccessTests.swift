import Harness
import JournalStore
import Scenarios
import Sync
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Reading a journal changes nothing beside or in it, whatever side files it
/// has; a side file that does not belong is reported and never applied.
@Suite("Reading touches nothing")
struct ReadOnlyAccessTests {
    /// The journal and every side file SQLite might create or change, with their bytes.
    func files(_ journal: String) -> [String: [UInt8]?] {
        Dictionary(uniqueKeysWithValues: ([journal] + JournalSideFiles.paths(of: journal)).map { ($0, contents($0)) })
    }

    /// Reads everything a command reads, and verifies.
    @discardableResult
    func readAll(_ journal: String) throws -> (JournalReader, JournalSummary) {
        let reader = try JournalReader(path: journal, migration: .onPrivateCopy)
        _ = try reader.contents()
        _ = try JournalVerifier.verify(reader)
        return (reader, try reader.summary())
    }

    /// A recording left open, as a killed recorder leaves it: the journal in WAL
    /// mode and its `-wal` (copied while the recorder was running, after a flush).
    func leftOpen(_ name: String, seed: UInt64, in dir: TemporaryDirectory) throws -> (path: String, transactions: Int) {
        let live = dir.file("live-\(name).journal")
        let configuration = RunConfiguration(scenario: .split, vcpus: 1, transactions: 40, seed: seed, vcpuMode: .stepping)
        let recorder = try JournalRecorder(path: live, header: simHeader(configuration))
        let runner = try ScenarioRunner(configuration, observer: recorder)
        recorder.recordConfiguration(backings: runner.machine.backings, regions: regions(of: runner.machine))
        try runner.run()
        recorder.flush()
        let path = dir.file("\(name).journal")
        write(try #require(contents(live)), to: path)
        write(try #require(contents(live + "-wal")), to: path + "-wal")
        try recorder.close()
        return (path, try JournalReader(path: live).summary().transactions)
    }

    @Test func aClosedJournalIsReadInPlaceAndLeftAsItWas() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("closed.journal")
        try record(RunConfiguration(scenario: .pam, vcpus: 1, transactions: 30, seed: 1, vcpuMode: .stepping), to: path)
        let before = files(path)
        let (reader, _) = try readAll(path)
        #expect(reader.readPath == path && reader.notes.isEmpty)
        #expect(files(path) == before)
        for side in JournalSideFiles.paths(of: path) { #expect(!fileExists(side)) }
    }

    @Test func aWALLeftByADeadRecorderIsRecoveredIntoACopy() throws {
        let dir = makeTemporaryDirectory()
        let (path, transactions) = try leftOpen("dead", seed: 1, in: dir)
        let before = files(path)
        let (reader, summary) = try readAll(path)
        #expect(reader.readPath != path)
        #expect(reader.notes.contains { $0.contains("recovered into a private copy") })
        #expect(summary.transactions == transactions, "the -wal's transactions are read")
        #expect(files(path) == before, "the journal and its side files are byte-identical; no -shm was made")
    }

    @Test func aWALModeJournalWithoutItsSideFilesIsReadAsItIs() throws {
        let dir = makeTemporaryDirectory()
        let (path, _) = try leftOpen("bare", seed: 2, in: dir)
        unlink(path + "-wal")
        let before = files(path)
        try readAll(path)
        #expect(files(path) == before)
    }

    @Test func anotherJournalsWALIsLeftOut() throws {
        let dir = makeTemporaryDirectory()
        let (path, _) = try leftOpen("mine", seed: 3, in: dir)
        let (other, _) = try leftOpen("other", seed: 4, in: dir)
        unlink(path + "-wal")
        let alone = try readAll(path).1
        write(try #require(contents(other + "-wal")), to: path + "-wal")
        let before = files(path)
        let (reader, summary) = try readAll(path)
        #expect(reader.notes.contains { $0.contains("another journal's header") }, "\(reader.notes)")
        #expect(summary == alone, "the foreign -wal was not applied")
        #expect(files(path) == before)
    }

    @Test("a side file that cannot belong is left out and reported", arguments: ["random", "beside-closed"])
    func strayWALIsLeftOut(kind: String) throws {
        let dir = makeTemporaryDirectory()
        let path: String
        if kind == "random" {
            path = try leftOpen("random", seed: 5, in: dir).path
            write((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }, to: path + "-wal")
        } else {
            path = dir.file("closed.journal")
            try record(RunConfiguration(scenario: .bar, vcpus: 1, transactions: 20, seed: 1, vcpuMode: .stepping), to: path)
            let (other, _) = try leftOpen("other", seed: 6, in: dir)
            write(try #require(contents(other + "-wal")), to: path + "-wal")
        }
        let before = files(path)
        let (reader, _) = try readAll(path)
        #expect(reader.notes.contains { $0.contains("was left out") }, "\(reader.notes)")
        #expect(files(path) == before)
    }
}
