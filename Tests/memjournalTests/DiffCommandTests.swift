import Foundation
import JSON
import Sync
import Testing
import TestSupport

/// `memjournal diff` from the command line: exit codes, the JSON form, refusals.
@Suite(.serialized) struct DiffCommandTests {
    static let fixtures = ImportMessageTests.fixtures

    func run(_ arguments: [String]) throws -> (Int32, String, String) { try JSONOutputTests.runCapturing(arguments) }

    @Test func aJournalAgainstItsOwnExportImportIsEquivalentAndTheTracesAreNot() throws {
        let dir = makeTemporaryDirectory()
        let journal = dir.file("bar.journal")
        #expect(try run(["import", Self.fixtures + "/bar.jsonl", "-o", journal]).0 == 0)
        #expect(try run(["export", journal, "-o", dir.file("bar.jsonl")]).0 == 0)
        #expect(try run(["import", dir.file("bar.jsonl"), "-o", dir.file("again.journal")]).0 == 0)
        let (same, out, err) = try run(["diff", journal, dir.file("again.journal"), "--strict"])
        #expect(same == 0, "\(out)\(err)")
        #expect(out.contains("equivalent:"))
        #expect(try run(["diff", journal, Self.fixtures + "/bar.jsonl"]).0 == 0)

        let a = Self.fixtures + "/qemu/seabios-boot-qemu-7.2.log", b = Self.fixtures + "/qemu/seabios-boot-qemu-7.2-no-timestamps.log"
        #expect(try run(["import", a, "-o", dir.file("a.journal")]).0 == 0)
        #expect(try run(["import", b, "-o", dir.file("b.journal")]).0 == 0)
        let (differ, text, _) = try run(["diff", dir.file("a.journal"), dir.file("b.journal"), "--json"])
        #expect(differ == 1)
        let report = try JSONParser.parse(Array(text.utf8))
        guard case .object(let members) = report else { Issue.record("not an object: \(text)"); return }
        #expect(members.map(\.key) == ["equivalent", "a", "b", "strict", "ignored", "equal", "counts", "changed", "removed",
                                       "inserted", "first_map_difference", "exact_alignment"])
        #expect(members.first { $0.key == "equivalent" }?.value == .bool(false))
        #expect(try run(["diff", dir.file("a.journal"), dir.file("b.journal"), "--ignore", "sizes"]).0 == 0)
    }

    @Test func badOptionsAndDamagedInputAreRefused() throws {
        let dir = makeTemporaryDirectory()
        let pam = Self.fixtures + "/pam.jsonl"
        #expect(try run(["diff", pam, pam, "--strict", "--ignore", "times"]).0 == 64)
        let (unknown, _, err) = try run(["diff", pam, pam, "--ignore", "colours"])
        #expect(unknown == 64 && err.contains("unknown field 'colours'"), "\(err)")
        #expect(try run(["diff", pam, dir.file("missing.jsonl")]).0 == 66)
        var text = try String(contentsOfFile: pam, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"seq\":3,", with: "\"seq\":4,")
        try text.write(toFile: dir.file("hole.jsonl"), atomically: false, encoding: .utf8)
        let (damaged, _, why) = try run(["diff", pam, dir.file("hole.jsonl")])
        #expect(damaged == 65 && why.contains("hole.jsonl"), "\(why)")
    }
}
