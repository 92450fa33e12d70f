import Harness
import MemoryModel
import Memslots
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
        ["drain_timeouts", "transactions"].map { "DELETE FROM \($0) WHERE sequence = \(n);" }.joined(separator: " ")
    }

    static func renumbering(_ from: Int64, to: Int64) -> String {
        "PRAGMA foreign_keys = OFF; "
            + ["drain_timeouts", "transactions"]
            .map { "UPDATE \($0) SET sequence = \(to) WHERE sequence = \(from);" }.joined(separator: " ")
    }

    /// A copy of the original with transaction `sequence`'s packed columns re-packed after `edit`.
    func editedPacked(_ sequence: Int64, _ edit: (inout [SectionChange], inout [SlotOperation]) -> Void) throws -> String {
        let path = try edited("")
        try editPacked(path, sequence: sequence, edit)
        return path
    }

    /// An edit of a value inside a packed column, decoded and packed again, so
    /// only the chain can tell.
    enum PackedEdit: String, CaseIterable, Sendable {
        case operationStart, operationDuration, regionName, operationDropped
    }

    @Test("each edit inside a packed column is named where it happened", arguments: PackedEdit.allCases)
    func packedEditsAreNamed(edit: PackedEdit) throws {
        let (sequence, expected): (Int64, String) = switch edit {
        case .operationStart: (40, "transaction 40: its content differs from what was recorded")
        case .operationDuration: (41, "transaction 41: its measured times differ from what was recorded")
        case .regionName: (43, "transaction 43: its content differs")
        case .operationDropped: (40, "transaction 40: its content differs")
        }
        let path = try editedPacked(sequence) { sections, ops in
            switch edit {
            case .operationStart:
                let op = ops[0]
                ops[0] = SlotOperation(kind: op.kind, slot: op.slot, range: try! GuestRange(start: op.range.start + 4096, last: op.range.last + 4096),
                                       host: op.host, flags: op.flags, errno: op.errno, durationNs: op.durationNs)
            case .operationDuration: ops[0].durationNs += 1
            case .regionName: sections[0].section.regionName = "edited"
            case .operationDropped: ops.removeFirst()
            }
        }
        let found = try #require(problem(path), "verify accepted a journal with \(edit)")
        #expect(found.contains(expected), "\(edit)\n→ \(found)")
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
        ("UPDATE transactions SET begin_ns = begin_ns - 5 WHERE sequence = 42",
         "transaction 42: its measured times differ"),
        ("UPDATE region_names SET name = 'edited' WHERE id = 0", "transaction 1: its content differs"),
        ("DELETE FROM region_names", "transaction 1: section 0: region name id 0 is not in region_names"),
        ("UPDATE transactions SET sections = CAST(x'07' || sections AS BLOB) WHERE sequence = 43",
         "transaction 43: section 0: change kind code 7 is not one schema 8 defines"),
        ("UPDATE transactions SET slot_ops = substr(slot_ops, 1, length(slot_ops) - 1) WHERE sequence = 41",
         "transaction 41: slot operation"),
        ("UPDATE transactions SET slot_hash = slot_hash + 1 WHERE sequence = 47", "transaction 47: its content differs"),
        ("UPDATE transactions SET chain = x'00' WHERE sequence = 48", "transaction 48: CHECK constraint failed"),
        ("UPDATE transactions SET slot_ops = NULL WHERE sequence = 49", "transaction 49: CHECK constraint failed"),
        ("UPDATE transactions SET inhibited = 2 WHERE sequence = 44", "transaction 44: CHECK constraint failed"),
        ("UPDATE transactions SET outcome = 'failed' WHERE sequence = 45",
         "transaction 45: outcome 'failed' but every slot operation succeeded"),
        ("INSERT INTO drain_timeouts VALUES (999, '[0]', 0)", "drain_timeouts row of transaction 999"),
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
        ("INSERT INTO transactions (sequence, as_id, begin_ns, overlaps, sections) SELECT max(sequence) + 1, 0, 0, 0, x'' FROM transactions",
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
                sections, commit_ns, outcome, inhibited, drain_ns, apply_ns, inhibit_ns, vcpus_kicked, slot_ops, slot_count,
                slot_hash, chain, timing_chain FROM transactions WHERE sequence = \(last);
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
