import Foundation
import Memslots
import Sync
import Testing
import TestSupport

/// `memjournal reduce` from the command line: what it writes, and how it refuses.
@Suite(.serialized) struct ReduceCommandTests {
    static let fixtures = ImportMessageTests.fixtures

    func run(_ arguments: [String]) throws -> (Int32, String, String) { try JSONOutputTests.runCapturing(arguments) }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// A journal imported from the real QEMU trace (it has hazards).
    func bootJournal(in dir: TemporaryDirectory) throws -> String {
        let path = dir.file("boot.journal")
        let (status, _, err) = try run(["import", Self.fixtures + "/qemu/seabios-boot-qemu-7.2.log", "-o", path])
        try #require(status == 0, "\(err)")
        return path
    }

    @Test func writesACommentedFixtureAndTheSameBytesTwice() throws {
        let dir = makeTemporaryDirectory()
        let journal = try bootJournal(in: dir)
        let before = bytes(journal)
        try FileManager.default.createDirectory(atPath: dir.file("a"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir.file("b"), withIntermediateDirectories: false)
        for side in ["a", "b"] {
            let (status, out, err) = try run(["reduce", journal, "--keep", "hazard", "-o", dir.file("\(side)/min.jsonl")])
            #expect(status == 0, "\(err)")
            #expect(out.contains("transactions: 8 → 2"), "\(out)")
        }
        #expect(bytes(journal) == before, "reading the journal changed it")
        // Same input and predicate (and output name): same bytes, apart from the directory in the command line.
        let a = String(decoding: bytes(dir.file("a/min.jsonl")) ?? Data(), as: UTF8.self)
        let b = String(decoding: bytes(dir.file("b/min.jsonl")) ?? Data(), as: UTF8.self)
        #expect(a.replacingOccurrences(of: dir.file("a/"), with: "") == b.replacingOccurrences(of: dir.file("b/"), with: ""))
        #expect(a.contains("\"comment\":\"reduced by `memjournal reduce \(journal) --keep hazard -o \(dir.file("a/min.jsonl"))` from 8 transactions to 2; keeps hazard"), "\(a)")
        // The header is still the import's, so it is still known as an ioctl history.
        #expect(a.contains("\"command_line\":[\"memjournal\",\"import\",\"--format\",\"qemu-trace\""))
        // It is a fixture: import keeps all of it, comment included, and fixture check replays it.
        #expect(try run(["import", dir.file("a/min.jsonl"), "-o", dir.file("min.journal")]).0 == 0)
        #expect(try run(["export", dir.file("min.journal"), "-o", dir.file("again.jsonl")]).0 == 0)
        #expect(bytes(dir.file("again.jsonl")) == bytes(dir.file("a/min.jsonl")))
        let (check, out, _) = try run(["fixture", "check", dir.file("a/min.jsonl")])
        #expect(check == 0, "\(out)")
        // The comment is part of the header's identity: editing it breaks the chain.
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "the edit needs sqlite3 (.ci/run installs it)")
        #expect(try run(["inspect", dir.file("min.journal"), "verify"]).0 == 0)
        let edit = Process()
        edit.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        edit.arguments = [dir.file("min.journal"), "UPDATE journal_header SET comment = 'hand-made' WHERE id = 1"]
        try edit.run()
        edit.waitUntilExit()
        let (verdict, _, report) = try run(["inspect", dir.file("min.journal"), "verify"])
        #expect(verdict == 1 && report.contains("the header differs from what was recorded"), "\(report)")
    }

    @Test func aPredicateTheInputDoesNotSatisfyIsNothingToReduce() throws {
        let dir = makeTemporaryDirectory()
        let (status, _, err) = try run(["reduce", Self.fixtures + "/pam.jsonl", "--keep", "divergence", "-o", dir.file("m.jsonl")])
        #expect(status == 1)
        #expect(err.contains("nothing to reduce: \(Self.fixtures)/pam.jsonl does not diverge in sections replay"), "\(err)")
        #expect(!fileExists(dir.file("m.jsonl")))
    }

    @Test func aJournalThatFailsVerifyIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let journal = try bootJournal(in: dir)
        try editPacked(journal, sequence: 3) { _, ops in ops[0].host.offset += 4096 }
        let before = bytes(journal)
        let (status, _, err) = try run(["reduce", journal, "--keep", "hazard", "-o", dir.file("m.jsonl")])
        #expect(status == 65, "\(err)")
        #expect(err.contains("boot.journal"), "\(err)")
        #expect(!fileExists(dir.file("m.jsonl")))
        #expect(bytes(journal) == before)
    }

    @Test func anExistingOutputIsRefusedAndUntouched() throws {
        let dir = makeTemporaryDirectory()
        let journal = try bootJournal(in: dir)
        FileManager.default.createFile(atPath: dir.file("m.jsonl"), contents: Data("mine\n".utf8))
        let (status, _, err) = try run(["reduce", journal, "--keep", "hazard", "-o", dir.file("m.jsonl")])
        #expect(status == 74, "\(err)")
        #expect(bytes(dir.file("m.jsonl")) == Data("mine\n".utf8))
    }

    @Test func aCommandDecidesWhatIsKept() throws {
        let dir = makeTemporaryDirectory()
        let journal = try bootJournal(in: dir)
        // Keep whatever still maps the ROM at 0xfffc0000 (the trace's second line).
        let (status, out, err) = try run([
            "reduce", journal, "--keep-cmd", "grep -q '\"start\":\"0xfffc0000\"' {}", "-o", dir.file("m.jsonl"),
        ])
        #expect(status == 0, "\(err)")
        let text = String(decoding: bytes(dir.file("m.jsonl")) ?? Data(), as: UTF8.self)
        #expect(text.split(separator: "\n").count == 2, "one transaction: \(out)")
        #expect(text.contains("\"start\":\"0xfffc0000\""))
        // A command that never succeeds: nothing to reduce.
        let (never, _, _) = try run(["reduce", journal, "--keep-cmd", "false {}", "-o", dir.file("n.jsonl")])
        #expect(never == 1)
    }
}
