import CSQLite
import JSON
import MemoryModel
import Memslots
import Sync

/// A transaction whose intent reached the journal but whose outcome did not
/// (the recording process died between the two; see `JournalRecorder`).
public struct CutOffTransaction: Hashable, Sendable {
    public var sequence: UInt64
    public var addressSpace: UInt16
    public var beginNs: UInt64
    public var sections: [SectionChange]
    public var decision: OverlapDecision

    package init(sequence: UInt64, addressSpace: UInt16, beginNs: UInt64, sections: [SectionChange],
                 decision: OverlapDecision) {
        self.sequence = sequence
        self.addressSpace = addressSpace
        self.beginNs = beginNs
        self.sections = sections
        self.decision = decision
    }
}

/// The recorder's own bookkeeping, as stored with each batch (schema 2).
public struct StoredRecorderStatistics: Hashable, Sendable {
    public var queueCapacity: Int?
    public var stalls: Int?
    public var stallNs: UInt64?
    public var batches: Int?
    public var maxBatch: Int?
    /// Highest sequence whose outcome was committed.
    public var lastSequence: UInt64?

    package init(queueCapacity: Int? = nil, stalls: Int? = nil, stallNs: UInt64? = nil, batches: Int? = nil, maxBatch: Int? = nil,
                 lastSequence: UInt64? = nil) {
        self.queueCapacity = queueCapacity
        self.stalls = stalls
        self.stallNs = stallNs
        self.batches = batches
        self.maxBatch = maxBatch
        self.lastSequence = lastSequence
    }
}

/// Counts that answer "what is in this journal" at a glance.
public struct JournalSummary: Hashable, Sendable {
    public var transactions: Int
    public var complete: Int
    public var cutOff: Int
    public var overlapping: Int
    public var inhibited: Int
    public var failedTransactions: Int
    public var slotOperations: Int
    public var failedOperations: Int
    public var faults: Int
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// Sequences missing between the first and the last (should be 0).
    public var gaps: Int
    public var cleanClose: Bool
    /// `inhibit_ns` of every inhibited transaction, for percentiles.
    public var inhibitNs: [UInt64]
}

/// Reads a journal: the API shared by `inspect`, replay and export.
///
/// Opens the file read-only with SQLite's defensive settings (journals come from
/// bug reports) after the checks of `JournalFile.openForReading`. Every value is
/// checked against its documented domain as it is decoded; a violation is a
/// `JournalError.badData` naming the row. Transactions are reassembled into the
/// same `TransactionRecord` values the listener produced.
public final class JournalReader {
    public let path: String
    /// The file actually read (a migrated copy, if the journal was older).
    public let readPath: String
    /// The schema the file had when opened (before any migration).
    public let originalVersion: Int
    let database: Database
    /// Keeps a privately migrated copy alive as long as the reader.
    private let scratch: TemporaryDirectory?

    public init(path: String, migration: JournalFile.MigrationPolicy = .refuse) throws(JournalError) {
        let opened = try JournalFile.openForReading(path, migration: migration)
        scratch = opened.scratch
        self.path = path
        readPath = opened.readPath
        originalVersion = opened.originalVersion
        database = opened.database
    }

    // MARK: Header and configuration

    public func header() throws(JournalError) -> JournalHeader {
        let rows = try query("""
            SELECT tool_version, created_unix_ns, host_kernel, backend, kvm_api_version, kvm_cap_nr_memslots,
                kvm_cap_readonly_mem, kvm_cap_immediate_exit, kvm_cap_multi_address_space, max_slots, max_slot_size,
                page_size, readonly_slots, vcpus, wait_strategy, inhibit, scenario, seed, command_line, durability,
                clean_close, closed_unix_ns
            FROM journal_header WHERE id = 1
            """) { r throws(JournalError) -> JournalHeader in
            let kvm: JournalHeader.KVMCapabilities? = r.isNull(4) ? nil : JournalHeader.KVMCapabilities(
                apiVersion: Int(r.int64(4)), nrMemslots: Int(r.int64OrNil(5) ?? 0), readonlyMem: r.int64(6) == 1,
                immediateExit: r.int64(7) == 1, multiAddressSpace: Int(r.int64OrNil(8) ?? 1))
            guard let wait = WaitStrategy(rawValue: r.text(14)) else { throw bad("header: wait_strategy '\(r.text(14))'") }
            guard let durability = Durability(rawValue: r.text(19)) else { throw bad("header: durability '\(r.text(19))'") }
            let caps = BackendCapabilities(
                maxSlots: Int(r.int64(9)), maxSlotSize: r.u64(10), readOnlyMemory: r.int64(12) == 1,
                addressSpaces: kvm?.multiAddressSpace ?? 2, pageSize: r.u64(11))
            return JournalHeader(
                toolVersion: r.text(0), createdUnixNs: r.u64(1), hostKernel: r.text(2), backend: r.text(3), kvm: kvm,
                capabilities: caps, vcpus: Int(r.int64(13)), wait: wait, inhibit: r.int64(15) == 1,
                scenario: r.textOrNil(16), seed: r.u64OrNil(17), commandLine: parseJSONStrings(r.text(18)) ?? [r.text(18)],
                durability: durability, cleanClose: r.int64(20) == 1, closedUnixNs: r.u64OrNil(21))
        }
        guard let header = rows.first else { throw bad("no journal_header row: the recording never started") }
        return header
    }

    public func backings() throws(JournalError) -> [BackingDescriptor] {
        try query("SELECT id, size, kind FROM backings ORDER BY id") { r throws(JournalError) in
            guard let kind = BackingKind(rawValue: r.text(2)) else { throw bad("backing \(r.int64(0)): kind '\(r.text(2))'") }
            return BackingDescriptor(id: BackingID(truncatingIfNeeded: r.int64(0)), size: r.u64(1), kind: kind)
        }
    }

    /// The flat view of each address space when recording started.
    public func regions() throws(JournalError) -> [UInt16: [MemorySection]] {
        let rows = try query("""
            SELECT as_id, start, last, region_name, region_kind, backing_id, backing_offset, read_only, romd, dirty_log
            FROM regions ORDER BY as_id, ordinal
            """) { r throws(JournalError) in
            (UInt16(truncatingIfNeeded: r.int64(0)), try section(r, from: 1, what: "region of as \(r.int64(0))"))
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }

    // MARK: Transactions

    /// Complete transactions with `from ≤ sequence ≤ to`, in sequence order,
    /// reassembled field by field. Cut-off transactions are not included (see
    /// `cutOffTransactions`).
    public func records(from: UInt64? = nil, to: UInt64? = nil) throws(JournalError) -> [TransactionRecord] {
        let bounds: [SQLValue] = [.u64(from ?? 0), .integer(Int64(clamping: to ?? UInt64(Int64.max)))]
        let sections = try sectionsBySequence(bounds)
        var ops: [UInt64: [SlotOperation]] = [:]
        _ = try query("""
            SELECT sequence, ordinal, kind, slot_id, start, last, backing_id, backing_offset, flags, errno, duration_ns
            FROM slot_ops WHERE sequence BETWEEN ? AND ? ORDER BY sequence, ordinal
            """, bounds) { r throws(JournalError) in
            let sequence = r.u64(0)
            let what = "slot operation \(r.int64(1)) of transaction \(sequence)"
            guard r.int64(1) == Int64(ops[sequence]?.count ?? 0) else { throw bad("\(what): ordinals not contiguous") }
            guard let kind = SlotOperation.Kind(rawValue: r.text(2)) else { throw bad("\(what): kind '\(r.text(2))'") }
            let op = SlotOperation(
                kind: kind, slot: SlotID(rawValue: try u32(r.int64(3), what)), range: try range(r.u64(4), r.u64(5), what),
                host: BackingLocation(backing: try u32(r.int64(6), what), offset: r.u64(7)),
                flags: SlotFlags(rawValue: try u32(r.int64(8), what)), errno: Int32(clamping: r.int64(9)),
                durationNs: r.u64(10))
            ops[sequence, default: []].append(op)
        }
        return try query("""
            SELECT t.sequence, t.as_id, t.begin_ns, t.commit_ns, t.overlaps, t.overlap_delete_index,
                t.overlap_add_index, t.overlap_delete_start, t.overlap_delete_last, t.overlap_add_start,
                t.overlap_add_last, t.inhibited, t.drain_ns, t.apply_ns, t.inhibit_ns, t.vcpus_kicked,
                d.slot_count, d.hash
            FROM transactions t LEFT JOIN slot_table_digests d USING (sequence)
            WHERE t.outcome IS NOT NULL AND t.sequence BETWEEN ? AND ? ORDER BY t.sequence
            """, bounds) { r throws(JournalError) in
            let sequence = r.u64(0)
            let what = "transaction \(sequence)"
            guard let slotCount = r.int64OrNil(16), let hash = r.u64OrNil(17) else {
                throw bad("\(what): complete but has no slot-table digest")
            }
            return TransactionRecord(
                sequence: sequence, addressSpace: try u16(r.int64(1), what), beginNs: r.u64(2), commitNs: r.u64(3),
                sections: sections[sequence] ?? [], decision: try decision(r, from: 4, what: what),
                slotOps: ops[sequence] ?? [],
                timing: InhibitTiming(
                    inhibited: r.int64(11) == 1, drainNs: r.u64(12), applyNs: r.u64(13), inhibitNs: r.u64(14),
                    vcpusKicked: Int(r.int64(15))),
                digest: SlotTableDigest(count: Int(slotCount), hash: hash))
        }
    }

    /// One complete transaction, or nil if there is none with that sequence.
    public func record(_ sequence: UInt64) throws(JournalError) -> TransactionRecord? {
        try records(from: sequence, to: sequence).first
    }

    /// Transactions whose outcome never reached the disk.
    public func cutOffTransactions() throws(JournalError) -> [CutOffTransaction] {
        let cut = try query("SELECT sequence FROM transactions WHERE outcome IS NULL ORDER BY sequence") { $0.u64(0) }
        guard let first = cut.first, let last = cut.last else { return [] }
        let bounds: [SQLValue] = [.u64(first), .u64(last)]
        let sections = try sectionsBySequence(bounds)
        return try query("""
            SELECT sequence, as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index, overlap_delete_start,
                overlap_delete_last, overlap_add_start, overlap_add_last
            FROM transactions WHERE outcome IS NULL AND sequence BETWEEN ? AND ? ORDER BY sequence
            """, bounds) { r throws(JournalError) in
            let sequence = r.u64(0)
            let what = "cut-off transaction \(sequence)"
            return CutOffTransaction(
                sequence: sequence, addressSpace: try u16(r.int64(1), what), beginNs: r.u64(2),
                sections: sections[sequence] ?? [], decision: try decision(r, from: 3, what: what))
        }
    }

    /// Every transaction sequence in the journal, complete or cut off.
    public func sequences() throws(JournalError) -> [UInt64] {
        try query("SELECT sequence FROM transactions ORDER BY sequence") { $0.u64(0) }
    }

    /// Slot-table digests by sequence.
    public func digests() throws(JournalError) -> [UInt64: SlotTableDigest] {
        let rows = try query("SELECT sequence, slot_count, hash FROM slot_table_digests ORDER BY sequence") {
            ($0.u64(0), SlotTableDigest(count: Int($0.int64(1)), hash: $0.u64(2)))
        }
        return Dictionary(rows, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Faults and statistics

    public func faults() throws(JournalError) -> [SpuriousFault] {
        try query("SELECT vcpu, gpa, is_write, time_ns, transaction_in_flight FROM faults ORDER BY id") {
            SpuriousFault(vcpu: Int($0.int64(0)), gpa: $0.u64(1), isWrite: $0.int64(2) == 1, timeNs: $0.u64(3),
                          transactionInFlight: $0.u64OrNil(4))
        }
    }

    /// The recorder's stored statistics.
    public func recorderStatistics() throws(JournalError) -> StoredRecorderStatistics? {
        try query("""
            SELECT queue_capacity, queue_stalls, queue_stall_ns, batches, max_batch, last_sequence
            FROM recorder_stats WHERE id = 1
            """) {
            StoredRecorderStatistics(
                queueCapacity: $0.int64OrNil(0).map(Int.init), stalls: $0.int64OrNil(1).map(Int.init),
                stallNs: $0.u64OrNil(2), batches: $0.int64OrNil(3).map(Int.init), maxBatch: $0.int64OrNil(4).map(Int.init),
                lastSequence: $0.u64OrNil(5))
        }.first
    }

    public func summary() throws(JournalError) -> JournalSummary {
        let counts = try query("""
            SELECT count(*), count(outcome), sum(overlaps), sum(inhibited), sum(outcome = 'failed'),
                min(sequence), max(sequence),
                (SELECT count(*) FROM slot_ops), (SELECT count(*) FROM slot_ops WHERE errno <> 0),
                (SELECT count(*) FROM faults), (SELECT clean_close FROM journal_header WHERE id = 1)
            FROM transactions
            """) { r in
            (Int(r.int64(0)), Int(r.int64(1)), Int(r.int64OrNil(2) ?? 0), Int(r.int64OrNil(3) ?? 0),
             Int(r.int64OrNil(4) ?? 0), r.u64OrNil(5), r.u64OrNil(6), Int(r.int64(7)), Int(r.int64(8)),
             Int(r.int64(9)), r.int64OrNil(10) == 1)
        }[0]
        let inhibitNs = try query("SELECT inhibit_ns FROM transactions WHERE inhibited = 1") { $0.u64(0) }
        let span = counts.5.flatMap { first in counts.6.map { Int(clamping: $0 - first + 1) } } ?? 0
        return JournalSummary(
            transactions: counts.0, complete: counts.1, cutOff: counts.0 - counts.1, overlapping: counts.2,
            inhibited: counts.3, failedTransactions: counts.4, slotOperations: counts.7, failedOperations: counts.8,
            faults: counts.9, firstSequence: counts.5, lastSequence: counts.6, gaps: span - counts.0,
            cleanClose: counts.10, inhibitNs: inhibitNs)
    }

    // MARK: Decoding

    private func sectionsBySequence(_ bounds: [SQLValue]) throws(JournalError) -> [UInt64: [SectionChange]] {
        var result: [UInt64: [SectionChange]] = [:]
        _ = try query("""
            SELECT sequence, ordinal, kind, start, last, region_name, region_kind, backing_id, backing_offset,
                read_only, romd, dirty_log
            FROM sections WHERE sequence BETWEEN ? AND ? ORDER BY sequence, ordinal
            """, bounds) { r throws(JournalError) in
            let sequence = r.u64(0)
            let what = "section \(r.int64(1)) of transaction \(sequence)"
            guard r.int64(1) == Int64(result[sequence]?.count ?? 0) else { throw bad("\(what): ordinals not contiguous") }
            guard let kind = SectionChange.Kind(rawValue: r.text(2)) else { throw bad("\(what): kind '\(r.text(2))'") }
            result[sequence, default: []].append(SectionChange(kind, try section(r, from: 3, what: what)))
        }
        return result
    }

    /// A section from columns start, last, region_name, region_kind, backing_id,
    /// backing_offset, read_only, romd, dirty_log beginning at `from`.
    private func section(_ r: Statement.Row, from c: Int32, what: String) throws(JournalError) -> MemorySection {
        guard let kind = RegionKind(rawValue: r.text(c + 3)) else { throw bad("\(what): region kind '\(r.text(c + 3))'") }
        let backing: BackingLocation? = r.isNull(c + 4)
            ? nil : BackingLocation(backing: try u32(r.int64(c + 4), what), offset: r.u64(c + 5))
        return MemorySection(
            range: try range(r.u64(c), r.u64(c + 1), what), regionName: r.text(c + 2), kind: kind, backing: backing,
            readOnly: r.int64(c + 6) == 1, romd: r.int64(c + 7) == 1, dirtyLog: r.int64(c + 8) == 1)
    }

    /// The decision from columns overlaps, delete index, add index, delete
    /// start/last, add start/last beginning at `from`.
    private func decision(_ r: Statement.Row, from c: Int32, what: String) throws(JournalError) -> OverlapDecision {
        guard r.int64(c) == 1 else { return OverlapDecision(pair: nil) }
        guard let d = r.int64OrNil(c + 1), let a = r.int64OrNil(c + 2), d >= 0, a >= 0 else {
            throw bad("\(what): overlapping but no overlapping pair")
        }
        return OverlapDecision(pair: OverlapDecision.Pair(
            deleteIndex: Int(d), addIndex: Int(a), deleted: try range(r.u64(c + 3), r.u64(c + 4), what),
            added: try range(r.u64(c + 5), r.u64(c + 6), what)))
    }

    private func range(_ start: UInt64, _ last: UInt64, _ what: String) throws(JournalError) -> GuestRange {
        do {
            return try GuestRange(start: start, last: last)
        } catch {
            throw bad("\(what): \(error)")
        }
    }

    private func u32(_ value: Int64, _ what: String) throws(JournalError) -> UInt32 {
        guard let v = UInt32(exactly: value) else { throw bad("\(what): \(value) is not a 32-bit unsigned value") }
        return v
    }

    private func u16(_ value: Int64, _ what: String) throws(JournalError) -> UInt16 {
        guard let v = UInt16(exactly: value) else { throw bad("\(what): address space \(value) out of range") }
        return v
    }

    private func bad(_ detail: String) -> JournalError { .badData(path: path, detail: detail) }

    /// Runs a query, mapping SQLite failures to `JournalError`.
    func query<T>(_ sql: String, _ values: [SQLValue] = [], _ row: (Statement.Row) throws(JournalError) -> T)
        throws(JournalError) -> [T]
    {
        do {
            let statement = try database.prepare(sql)
            return try statement.query(values) { r in try row(r) }
        } catch let error as JournalError {
            throw error
        } catch let error as SQLiteError {
            if error.primaryCode == SQLITE_CORRUPT || error.primaryCode == SQLITE_NOTADB {
                throw .damaged(path: path, detail: error.message)
            }
            throw .io(path: path, error)
        } catch {
            throw .io(path: path, SQLiteError(code: SQLITE_ERROR, message: "\(error)", path: path))
        }
    }
}

/// Reads `journal_header.command_line`, a JSON array of strings (nil if it is not one).
func parseJSONStrings(_ text: String) -> [String]? {
    guard case .array(let items)? = try? JSONParser.parse(Array(text.utf8)) else { return nil }
    var strings: [String] = []
    for item in items {
        guard case .string(let s) = item else { return nil }
        strings.append(s)
    }
    return strings
}
