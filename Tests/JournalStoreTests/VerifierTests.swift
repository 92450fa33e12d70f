import Harness
@testable import JournalStore
import Scenarios
import Sync
import TestSupport
import Testing

/// `JournalVerifier`: an intact journal passes, and each way a journal gets
/// edited is named at the transaction (or fault, or row) where it happened.
@Suite("Journal verification")
struct VerifierTests {
    /// A recorded journal with faults (no inhibit, stepping vCPUs) and 120 transactions.
    static let original: String = {
        let path = scratchPath("verify-original.journal")
        try! record(RunConfiguration(scenario: .pam, vcpus: 2, transactions: 120, seed: 7, inhibit: false,
                                     vcpuMode: .stepping), to: path)
        return path
    }()

    /// A copy of the original with `sql` applied (constraints bypassed, as an editor could).
    func edited(_ sql: String) throws -> String {
        let path = scratchPath("edited-\(UInt64.random(in: 0...UInt64.max)).journal")
        write(try #require(contents(Self.original)), to: path)
        try Database(path: path, mode: .readWrite).execute("PRAGMA ignore_check_constraints = ON; " + sql)
        return path
    }

    func problem(_ path: String) -> String? {
        do {
            _ = try JournalVerifier.verify(try JournalReader(path: path))
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Every row of transaction `n`.
    static func deleting(_ n: Int64) -> String {
        ["drain_timeouts", "slot_table_digests", "slot_ops", "sections", "transactions"]
            .map { "DELETE FROM \($0) WHERE sequence = \(n);" }.joined(separator: " ")
    }

    static func renumbering(_ from: Int64, to: Int64) -> String {
        "PRAGMA foreign_keys = OFF; "
            + ["drain_timeouts", "slot_table_digests", "slot_ops", "sections", "transactions"]
            .map { "UPDATE \($0) SET sequence = \(to) WHERE sequence = \(from);" }.joined(separator: " ")
    }

    @Test func anIntactJournalIsSealedAndCounted() throws {
        let reader = try JournalReader(path: Self.original)
        let verification = try JournalVerifier.verify(reader)
        let summary = try reader.summary()
        #expect(verification.chain == .sealed)
        #expect(verification.transactions == summary.transactions)
        #expect(verification.faults == summary.faults)
        #expect(summary.faults > 0, "the control journal should hold faults so the fault chain is exercised")
    }

    @Test("each edit is named where it happened", arguments: [
        (deleting(60), "transaction 60 missing: 59 is followed by 61"),
        (renumbering(60, to: 0), "transaction 0: sequence numbers start at 1"),
        (renumbering(1, to: -3), "transaction -3: sequence numbers start at 1"),
        ("UPDATE slot_ops SET start = start + 4096 WHERE sequence = 40 AND ordinal = 0",
         "transaction 40: its content differs from what was recorded"),
        ("UPDATE slot_ops SET duration_ns = duration_ns + 1 WHERE sequence = 41 AND ordinal = 0",
         "transaction 41: its measured times differ from what was recorded"),
        ("UPDATE transactions SET begin_ns = begin_ns - 5 WHERE sequence = 42",
         "transaction 42: its measured times differ"),
        ("UPDATE sections SET region_name = 'edited' WHERE sequence = 43 AND ordinal = 0",
         "transaction 43: its content differs"),
        ("UPDATE transactions SET inhibited = 2 WHERE sequence = 44", "transaction 44: CHECK constraint failed"),
        ("UPDATE transactions SET outcome = 'failed' WHERE sequence = 45",
         "transaction 45: outcome 'failed' but every slot operation succeeded"),
        ("INSERT INTO slot_ops SELECT 999, ordinal, kind, slot_id, start, last, backing_id, backing_offset, flags, errno, duration_ns FROM slot_ops WHERE sequence = 5",
         "slot_ops row of transaction 999"),
        ("UPDATE faults SET gpa = gpa + 8 WHERE id = 1", "fault 1: differs from what was recorded"),
        ("UPDATE faults SET time_ns = time_ns + 8 WHERE id = 1", "fault 1: its time differs"),
        ("DELETE FROM faults WHERE id = 1", "fault 1 missing: the faults start at 2"),
        ("UPDATE journal_header SET vcpus = 3", "the header differs from what was recorded"),
        ("UPDATE backings SET size = size * 2", "the configuration (backings, initial regions) differs"),
        ("UPDATE journal_header SET clean_close = 0", "no longer marked as closed cleanly"),
        ("UPDATE journal_header SET seal = NULL", "the recorder's seal is missing"),
        ("UPDATE journal_header SET closed_unix_ns = closed_unix_ns + 1", "the seal written at the clean close does not match"),
        ("UPDATE recorder_stats SET batches = batches + 1", "the seal written at the clean close does not match"),
        ("UPDATE journal_header SET chain_start = NULL", "its hash chain's start was removed"),
        ("UPDATE journal_header SET chain_start = NULL, config_hash = NULL, seal = NULL, clean_close = 0; UPDATE transactions SET chain = NULL, timing_chain = NULL; UPDATE faults SET chain = NULL, timing_chain = NULL",
         "its hash chain's start was removed"),
        ("UPDATE journal_header SET config_hash = NULL, seal = NULL, clean_close = 0", "the configuration (backings, initial regions) differs"),
        ("INSERT INTO transactions (sequence, as_id, begin_ns, overlaps) SELECT max(sequence) + 1, 0, 0, 0 FROM transactions",
         "cut-off transaction(s), which only a recording cut short leaves"),
    ])
    func editsAreNamed(sql: String, expected: String) throws {
        let path = try edited(sql)
        let found = try #require(problem(path), "verify accepted a journal edited with: \(sql)")
        #expect(found.contains(expected), "\(sql)\n→ \(found)")
        #expect(found.contains(path))
    }

    @Test func aDuplicatedTransactionAtTheEndBreaksTheSeal() throws {
        // A copy of the last transaction's rows as a new, contiguous last one.
        let last = Int64(try JournalReader(path: Self.original).sequenceBounds()!.last)
        let next = last + 1
        let path = try edited("""
            INSERT INTO transactions SELECT \(next), as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index,
                overlap_delete_start, overlap_delete_last, overlap_add_start, overlap_add_last, commit_ns, outcome, inhibited,
                drain_ns, apply_ns, inhibit_ns, vcpus_kicked, chain, timing_chain FROM transactions WHERE sequence = \(last);
            INSERT INTO sections SELECT \(next), ordinal, kind, start, last, region_name, region_kind, backing_id,
                backing_offset, read_only, romd, dirty_log FROM sections WHERE sequence = \(last);
            INSERT INTO slot_ops SELECT \(next), ordinal, kind, slot_id, start, last, backing_id, backing_offset, flags,
                errno, duration_ns FROM slot_ops WHERE sequence = \(last);
            INSERT INTO slot_table_digests SELECT \(next), slot_count, hash FROM slot_table_digests WHERE sequence = \(last);
            """)
        let found = try #require(problem(path))
        #expect(found.contains("transaction \(next): its content differs"), "\(found)")
    }

    @Test func aTransactionRenumberedToTheLargestSequence() throws {
        let last = Int64(try JournalReader(path: Self.original).sequenceBounds()!.last)
        let path = try edited(Self.renumbering(last, to: Int64.max))
        let found = try #require(problem(path))
        #expect(found.contains("transactions \(last)…9223372036854775806 missing: \(last - 1) is followed by 9223372036854775807"),
                "\(found)")
    }

    @Test func aTruncatedTailIsCaughtByTheSeal() throws {
        let last = Int64(try JournalReader(path: Self.original).sequenceBounds()!.last)
        let path = try edited(Self.deleting(last) + " DELETE FROM faults WHERE transaction_in_flight = \(last)")
        let found = try #require(problem(path))
        #expect(found.contains("the clean close sealed"), "\(found)")
    }

    @Test func aJournalFromBeforeTheChainIsCheckedButNotAuthenticated() throws {
        // A schema-4 journal: the schema up to 4, a header, and two transactions.
        let dir = makeTemporaryDirectory()
        let path = dir.file("v4.journal")
        do {
            let db = try Database(path: path, mode: .create)
            try Migrations.migrate(db, from: 0, to: 4)
            try JournalRows.insertHeader(simHeader(RunConfiguration(scenario: .bar)), chained: false, into: db)
            try db.execute("""
                INSERT INTO transactions (sequence, as_id, begin_ns, overlaps, commit_ns, outcome, inhibited, drain_ns,
                    apply_ns, inhibit_ns, vcpus_kicked) VALUES (1, 0, 1, 0, 2, 'ok', 0, 0, 1, 0, 0), (2, 0, 3, 0, 4, 'ok', 0, 0, 1, 0, 0);
                INSERT INTO slot_table_digests VALUES (1, 0, 0), (2, 0, 0);
                """)
        }
        #expect(try JournalVerifier.verify(try JournalReader(path: path, migration: .onPrivateCopy)).chain == .unchained)
        // The structural checks still run on it.
        try Database(path: path, mode: .readWrite).execute("DELETE FROM slot_table_digests WHERE sequence = 1; DELETE FROM transactions WHERE sequence = 1")
        let found = try #require({ () -> String? in
            do { _ = try JournalVerifier.verify(try JournalReader(path: path, migration: .onPrivateCopy)); return nil } catch { return "\(error)" }
        }())
        #expect(found.contains("transaction 1 missing: the journal starts at 2"), "\(found)")
    }

    @Test func aSchema5JournalWrittenWithoutTheChainIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("unchained.journal")
        try record(RunConfiguration(scenario: .bar, vcpus: 1, transactions: 30, seed: 3, vcpuMode: .stepping), to: path,
                   options: JournalRecorder.Options(hashChain: false))
        #expect(problem(path)?.contains("its hash chain's start was removed") == true)
    }

    @Test func anAbsolutePathWithALeadingDoubleSlashVerifies() throws {
        #expect(problem("/" + Self.original) == nil)
    }

    @Test func verifyingLeavesTheFileAsItWas() throws {
        let before = try #require(contents(Self.original))
        _ = try JournalVerifier.verify(try JournalReader(path: Self.original))
        #expect(contents(Self.original) == before)
        for suffix in JournalSideFiles.suffixes { #expect(!fileExists(Self.original + suffix)) }
    }
}
