import MemoryModel
import Memslots

/// The data step of migrations/0008_packed_transactions.sql: fills the packed
/// `transactions` table from schema 7's `transactions_v7`, `sections`,
/// `slot_ops` and `slot_table_digests`, one transaction at a time (the three
/// are walked together in sequence order, so memory stays flat at any size),
/// then drops them. Values are copied, never recomputed: the stored hash-chain
/// links are cut to their first 16 bytes, and `verify` still recomputes the
/// chain from the records. A row that cannot be packed stops the migration with
/// an error naming its transaction.
enum Schema8Conversion {
    static func run(_ database: Database) throws(SQLiteError) {
        func damaged(_ detail: String) -> SQLiteError {
            SQLiteError(code: .corrupt, message: detail, path: database.path)
        }
        let names = try RegionNames(database)
        let insert = try database.prepare("""
            INSERT INTO transactions (sequence, as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index,
                sections, commit_ns, outcome, inhibited, drain_ns, apply_ns, inhibit_ns, vcpus_kicked, slot_ops,
                slot_count, slot_hash, chain, timing_chain)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let transactions = try database.prepare("""
            SELECT t.*, d.slot_count, d.hash FROM transactions_v7 t LEFT JOIN slot_table_digests d USING (sequence)
            ORDER BY t.sequence
            """).rows()
        let sections = try database.prepare("""
            SELECT sequence, ordinal, kind, start, last, region_name, region_kind, backing_id, backing_offset,
                read_only, romd, dirty_log
            FROM sections ORDER BY sequence, ordinal
            """).rows()
        let ops = try database.prepare("""
            SELECT sequence, ordinal, kind, slot_id, start, last, backing_id, backing_offset, flags, errno, duration_ns
            FROM slot_ops ORDER BY sequence, ordinal
            """).rows()
        var nextSection = try sections.next()
        var nextOp = try ops.next()
        let orphans = try database.scalar("""
            SELECT sequence FROM slot_table_digests WHERE sequence NOT IN (SELECT sequence FROM transactions_v7) LIMIT 1
            """)
        if let orphan = orphans { throw damaged("a slot-table digest belongs to transaction \(orphan), which is not in the journal") }

        while let t = try transactions.next() {
            let sequence = t.int64("sequence")
            let what = "transaction \(sequence)"
            // Sections and operations of this transaction: rows before it belong to none.
            let changes = try children(of: sequence, from: sections, next: &nextSection, item: "section", what: what, damaged) {
                r, item throws(SQLiteError) in try section(r, what: item, damaged)
            }
            let slotOps = try children(of: sequence, from: ops, next: &nextOp, item: "slot operation", what: what, damaged) {
                r, item throws(SQLiteError) in try slotOp(r, what: item, damaged)
            }
            let complete = !t.isNull("outcome")
            guard complete || slotOps.isEmpty else {
                throw damaged("\(what) is cut off but has slot operations, which only a complete transaction has")
            }
            guard complete == !t.isNull("slot_count") else {
                throw damaged(complete ? "\(what): complete but has no slot-table digest"
                              : "\(what) is cut off but has a slot-table digest, which only a complete transaction has")
            }
            try checkOverlapRanges(t, changes, what: what, damaged)
            let packed = try PackedColumns.sections(changes, regionID: names.id)
            func copy(_ column: String) -> SQLValue { t.isNull(column) ? .null : .integer(t.int64(column)) }
            func link(_ column: String) -> SQLValue { t.blobOrNil(column).map { .blob(Array($0.prefix(16))) } ?? .null }
            try insert.run([
                .integer(sequence), copy("as_id"), copy("begin_ns"), copy("overlaps"), copy("overlap_delete_index"),
                copy("overlap_add_index"), .blob(packed), copy("commit_ns"),
                t.textOrNil("outcome").map(SQLValue.text) ?? .null, copy("inhibited"), copy("drain_ns"),
                copy("apply_ns"), copy("inhibit_ns"), copy("vcpus_kicked"),
                complete ? .blob(PackedColumns.slotOps(slotOps, sections: changes)) : .null,
                copy("slot_count"), copy("hash"), link("chain"), link("timing_chain")])
        }
        if let row = nextSection {
            throw damaged("a section belongs to transaction \(row.int64("sequence")), which is not in the journal")
        }
        if let row = nextOp {
            throw damaged("a slot operation belongs to transaction \(row.int64("sequence")), which is not in the journal")
        }
        try database.execute("""
            DROP TABLE sections; DROP TABLE slot_ops; DROP TABLE slot_table_digests; DROP TABLE transactions_v7;
            """)
    }

    /// The rows of `rows` (ordered by sequence, ordinal; `next` is the one read
    /// ahead) that belong to transaction `sequence`, decoded; a row of a
    /// transaction that is not there, or out of order, is damage.
    private static func children<T>(
        of sequence: Int64, from rows: Statement.Rows, next: inout Statement.Row?, item: String, what: String,
        _ damaged: (String) -> SQLiteError, _ decode: (Statement.Row, String) throws(SQLiteError) -> T
    ) throws(SQLiteError) -> [T] {
        var result: [T] = []
        while let row = next, row.int64("sequence") <= sequence {
            guard row.int64("sequence") == sequence else {
                throw damaged("a \(item) belongs to transaction \(row.int64("sequence")), which is not in the journal")
            }
            guard row.int64("ordinal") == Int64(result.count) else {
                throw damaged("\(item) \(row.int64("ordinal")) of \(what): ordinals not contiguous")
            }
            result.append(try decode(row, "\(item) \(result.count) of \(what)"))
            next = try rows.next()
        }
        return result
    }

    /// The overlap ranges schema 8 no longer stores must be those of the
    /// sections the indices name (as every writer left them).
    private static func checkOverlapRanges(
        _ t: Statement.Row, _ changes: [SectionChange], what: String, _ damaged: (String) -> SQLiteError
    ) throws(SQLiteError) {
        guard let d = t.int64OrNil("overlap_delete_index"), let a = t.int64OrNil("overlap_add_index") else { return }
        guard let pair = OverlapDecision.Pair(naming: Int(d), Int(a), of: changes) else {
            throw damaged("\(what): its overlap decision names delete \(d) and add \(a), which it does not have")
        }
        guard t.u64OrNil("overlap_delete_start") == pair.deleted.start, t.u64OrNil("overlap_delete_last") == pair.deleted.last,
              t.u64OrNil("overlap_add_start") == pair.added.start, t.u64OrNil("overlap_add_last") == pair.added.last
        else {
            throw damaged("\(what): its overlap ranges are not those of the delete and add its decision names")
        }
    }

    private static func section(_ r: Statement.Row, what: String, _ damaged: (String) -> SQLiteError)
        throws(SQLiteError) -> SectionChange
    {
        guard let kind = SectionChange.Kind(rawValue: r.text("kind")) else { throw damaged("\(what): kind '\(r.text("kind"))'") }
        do throws(StoredValues.Invalid) {
            return SectionChange(kind, try StoredValues.section(r, what: what))
        } catch {
            throw damaged(error.detail)
        }
    }

    private static func slotOp(_ r: Statement.Row, what: String, _ damaged: (String) -> SQLiteError)
        throws(SQLiteError) -> SlotOperation
    {
        guard let kind = SlotOperation.Kind(rawValue: r.text("kind")) else { throw damaged("\(what): kind '\(r.text("kind"))'") }
        do throws(StoredValues.Invalid) {
            return SlotOperation(
                kind: kind, slot: SlotID(rawValue: try StoredValues.u32(r.int64("slot_id"), what)),
                range: try StoredValues.range(r.u64("start"), r.u64("last"), what),
                host: BackingLocation(backing: try StoredValues.u32(r.int64("backing_id"), what), offset: r.u64("backing_offset")),
                flags: SlotFlags(rawValue: try StoredValues.u32(r.int64("flags"), what)),
                errno: Int32(clamping: r.int64("errno")), durationNs: r.u64("duration_ns"))
        } catch {
            throw damaged(error.detail)
        }
    }
}
