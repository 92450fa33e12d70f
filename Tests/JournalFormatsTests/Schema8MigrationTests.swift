import Foundation
import JournalFormats
import JournalStore
import Testing
import TestSupport
import Sync

/// Schema 8 (migrations/0008_packed_transactions.sql) packs each transaction
/// into one row. Journals written by the schema-7 build (fixtures/schema7: a
/// recording with faults, the SMM edge case, and hand-made extremes — cut-off
/// transactions, a drain timeout, MMIO, values at and above 2^63, a range of all
/// 2^64 bytes, flags 2^32 − 1, negative errno) must export byte for byte as that
/// build exported them, verify, and stay untouched on disk.
@Suite("Schema 8 migration")
struct Schema8MigrationTests {
    static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures/schema7").path
    }()

    static let names = ["random-no-inhibit", "edge-smm", "extremes"]

    @Test("export after the migration is byte-identical to the schema-7 build's export", arguments: names)
    func exportIsByteIdentical(name: String) throws {
        let journal = "\(Self.directory)/\(name).journal"
        let before = try #require(contents(journal), "fixture \(journal)")
        let reader = try JournalReader(path: journal, migration: .onPrivateCopy)
        #expect(reader.originalVersion == 7)
        _ = try JournalVerifier.verify(reader)
        let output = scratchPath("\(name).jsonl")
        try CanonicalJSONL.export(journal: journal, to: output)
        let golden = try #require(contents("\(Self.directory)/\(name).jsonl"))
        let exported = try #require(contents(output))
        #expect(exported == golden, "export of the migrated \(name) differs from the schema-7 export")
        #expect(contents(journal) == before, "reading \(journal) changed it")
    }

    /// The control: the comparison sees a single changed value in a packed
    /// column (a slot operation's duration), written without breaking SQLite.
    @Test("control: one value changed in a packed column changes the export")
    func controlChangedValueIsSeen() throws {
        let copy = scratchPath("migrated.journal")
        let reader = try JournalReader(path: "\(Self.directory)/random-no-inhibit.journal", migration: .onCopy(destination: copy))
        #expect(reader.readPath == copy)
        // The last byte of a packed slot_ops column ends the last operation's duration: flip its lowest bit.
        let database = try Database(path: copy, mode: .readWrite)
        let row = try #require(try database.prepare(
            "SELECT sequence, slot_ops FROM transactions WHERE length(slot_ops) > 0 ORDER BY sequence LIMIT 1").rows().next())
        var packed = try #require(row.blobOrNil("slot_ops"))
        packed[packed.count - 1] ^= 1
        let sequence = row.int64("sequence")
        #expect(try database.prepare("UPDATE transactions SET slot_ops = ? WHERE sequence = ?")
            .run(.blob(packed), .integer(sequence)) == 1)
        let output = scratchPath("changed.jsonl")
        try CanonicalJSONL.export(journal: copy, to: output, verify: false)
        #expect(contents(output) != contents("\(Self.directory)/random-no-inhibit.jsonl"))
        // And verify names the transaction whose content no longer matches its link.
        let found = try #require(Self.failure { _ = try JournalVerifier.verify(try JournalReader(path: copy)) },
                                 "verify accepted an edited packed column")
        #expect(found.message.contains("transaction \(sequence): its measured times differ"), "\(found.message)")
    }

    /// The error `body` throws (as its message and exit code), or nil.
    static func failure(_ body: () throws -> Void) -> (message: String, exitCode: Int32?)? {
        do {
            try body()
            return nil
        } catch {
            return ("\(error)", (error as? JournalError)?.exitCode)
        }
    }

    /// Overlap ranges are not stored in schema 8 (they are the ranges of the
    /// sections the decision names); a schema-7 row whose ranges say otherwise
    /// is refused by name, and the journal is left as it was.
    @Test("a schema-7 row that cannot be carried over is refused, naming its transaction")
    func contradictoryOverlapIsRefused() throws {
        let journal = scratchPath("edited.journal")
        write(try #require(contents("\(Self.directory)/random-no-inhibit.journal")), to: journal)
        let edited = try Database(path: journal, mode: .readWrite)
        let sequence = try #require(try edited.scalar("SELECT min(sequence) FROM transactions WHERE overlaps = 1"))
        try edited.execute("UPDATE transactions SET overlap_add_last = overlap_add_last + 1 WHERE sequence = \(sequence)")
        let before = contents(journal)
        let found = try #require(Self.failure { _ = try JournalReader(path: journal, migration: .onPrivateCopy) },
                                 "a contradictory overlap range was migrated")
        #expect(found.exitCode == 65)
        #expect(found.message.contains("transaction \(sequence): its overlap ranges are not those"), "\(found.message)")
        #expect(contents(journal) == before)
    }
}
