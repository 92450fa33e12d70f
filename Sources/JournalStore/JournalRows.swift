import JSON
import MemoryModel
import Memslots

/// The rows of a journal, written with prepared statements (every value bound,
/// u64 as bit patterns). Used by the recorder's writer thread and by
/// `JournalBuilder`; the column meanings are documented in migrations/0001_initial.sql
/// and, for the transaction row, migrations/0008_packed_transactions.sql.
///
/// The recorder writes a transaction in two parts, each meant for its own SQLite
/// transaction: `insertIntent` (the transaction row with its packed sections and
/// its outcome columns NULL) and `writeOutcome` (the outcome columns: timings,
/// packed slot operations, digest, links). See `JournalRecorder` for why. A builder, whose
/// history is already complete, writes both at once (`insertComplete`).
public final class JournalRows {
    let database: Database
    /// The hash chain so far (nil for an unchained journal). Extended as rows are
    /// written; the caller abandons this object when a write fails (the recorder
    /// stops, an import is rolled back), so it never runs ahead of the file.
    private var chain: HashChain?
    /// The configuration hash last written (nil before any configuration).
    private var configurationHash: HashChain.Link?
    /// Faults written so far; the next one gets id `faultsWritten + 1`.
    private var faultsWritten: Int64 = 0
    private let regionNames: RegionNames
    private let intent: Statement
    private let complete: Statement
    private let outcome: Statement
    private let fault: Statement
    private let stats: Statement
    private let drainTimeout: Statement

    public init(_ database: Database) throws(SQLiteError) {
        self.database = database
        let start = try database.prepare("SELECT chain_start FROM journal_header WHERE id = 1").rows().next()?
            .blobOrNil("chain_start")
        chain = start.map(HashChain.init(start:))
        regionNames = try RegionNames(database)
        intent = try database.prepare("""
            INSERT INTO transactions (sequence, as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index,
                sections)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        complete = try database.prepare("""
            INSERT INTO transactions (sequence, as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index,
                sections, commit_ns, outcome, inhibited, drain_ns, apply_ns, inhibit_ns, vcpus_kicked, slot_ops,
                slot_count, slot_hash, chain, timing_chain)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        outcome = try database.prepare("""
            UPDATE transactions SET commit_ns = ?, outcome = ?, inhibited = ?, drain_ns = ?, apply_ns = ?,
                inhibit_ns = ?, vcpus_kicked = ?, slot_ops = ?, slot_count = ?, slot_hash = ?, chain = ?,
                timing_chain = ?
            WHERE sequence = ? AND outcome IS NULL
            """)
        fault = try database.prepare("""
            INSERT INTO faults (id, vcpu, gpa, is_write, time_ns, transaction_in_flight, chain, timing_chain)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        stats = try database.prepare("""
            UPDATE recorder_stats SET queue_capacity = ?, queue_stalls = ?, queue_stall_ns = ?, batches = ?,
                max_batch = ?, last_sequence = ?
            WHERE id = 1
            """)
        drainTimeout = try database.prepare("INSERT INTO drain_timeouts (sequence, vcpus, vm_ioctls) VALUES (?, ?, ?)")
    }

    // MARK: Transactions

    public func insertIntent(_ record: TransactionRecord) throws(SQLiteError) {
        try intent.run(try intentValues(record))
    }

    public func writeOutcome(_ record: TransactionRecord) throws(SQLiteError) {
        let changed = try outcome.run(outcomeValues(record) + [.u64(record.sequence)])
        guard changed == 1 else {
            throw SQLiteError(
                code: .constraint, message: "transaction \(record.sequence): no intent row awaiting its outcome",
                path: database.path)
        }
        try insertDrainTimeout(record)
    }

    /// Intent and outcome at once, for a history that is already complete (a
    /// journal built from text): one row written once instead of written and
    /// then updated. What it leaves is exactly what `insertIntent` followed by
    /// `writeOutcome` leaves.
    public func insertComplete(_ record: TransactionRecord) throws(SQLiteError) {
        try complete.run(try intentValues(record) + outcomeValues(record))
        try insertDrainTimeout(record)
    }

    /// The intent columns of the transaction row, in the order the statements name them.
    /// The overlap pair's ranges are not stored: they are those of the sections it names.
    private func intentValues(_ record: TransactionRecord) throws(SQLiteError) -> [SQLValue] {
        let pair = record.decision.pair
        return [
            .u64(record.sequence), .int(record.addressSpace), .u64(record.beginNs), .bool(pair != nil),
            .optional(pair) { .int($0.deleteIndex) }, .optional(pair) { .int($0.addIndex) },
            .blob(try PackedColumns.sections(record.sections, regionID: regionNames.id))]
    }

    /// The outcome columns of the transaction row, extending the chain by it.
    private func outcomeValues(_ record: TransactionRecord) -> [SQLValue] {
        let t = record.timing
        let links = chain?.link(record)
        return [
            .u64(record.commitNs), .text(record.succeeded ? "ok" : "failed"), .bool(t.inhibited),
            .u64(t.drainNs), .u64(t.applyNs), .u64(t.inhibitNs), .int(t.vcpusKicked),
            .blob(PackedColumns.slotOps(record.slotOps, sections: record.sections)), .int(record.digest.count),
            .u64(record.digest.hash), .optional(links) { .blob(Array($0.content.prefix(Self.storedLinkBytes))) },
            .optional(links) { .blob(Array($0.timing.prefix(Self.storedLinkBytes))) }]
    }

    /// Bytes of a transaction's hash-chain link that are stored (schema 8); the
    /// chain runs on the whole links.
    static let storedLinkBytes = 16

    private func insertDrainTimeout(_ record: TransactionRecord) throws(SQLiteError) {
        if let timeout = record.timing.drainTimeout {
            try drainTimeout.run(
                .u64(record.sequence), .text(JSONValue.array(timeout.vcpus.map { .int($0) }).text), .int(timeout.vmIoctls))
        }
    }

    /// Inserts the next fault; its id is its arrival order, from 1.
    func insertFault(_ f: SpuriousFault) throws(SQLiteError) {
        let id = faultsWritten + 1
        let links = chain?.link(f, id: id)
        try fault.run(
            .integer(id), .int(f.vcpu), .u64(f.gpa), .bool(f.isWrite), .u64(f.timeNs),
            .optional(f.transactionInFlight) { .u64($0) }, .optional(links) { .blob($0.content) },
            .optional(links) { .blob($0.timing) })
        faultsWritten = id
    }

    /// Inserts fault `id` without its links (a history read from text may give
    /// faults in any order); `chainFaults` links them in id order afterwards.
    func insertUnchainedFault(_ f: SpuriousFault, id: Int64) throws(SQLiteError) {
        try fault.run(
            .integer(id), .int(f.vcpu), .u64(f.gpa), .bool(f.isWrite), .u64(f.timeNs),
            .optional(f.transactionInFlight) { .u64($0) }, .null, .null)
    }

    /// Links up to `count` faults with ids above `after`, in id order; returns the
    /// last id linked, nil when there was none (or the journal is unchained).
    func chainFaults(after: Int64, count: Int) throws(SQLiteError) -> Int64? {
        guard chain != nil else { return nil }
        let read = try database.cachedStatement("""
            SELECT id, \(JournalReader.faultColumns) FROM faults WHERE id > ? ORDER BY id LIMIT ?
            """)
        var window: [(Int64, SpuriousFault)] = []
        let found = try read.rows([.integer(after), .integer(Int64(count))])
        while let row = try found.next() { window.append((row.int64("id"), JournalReader.fault(row))) }
        let update = try database.cachedStatement("UPDATE faults SET chain = ?, timing_chain = ? WHERE id = ?")
        for (id, f) in window {
            guard let links = chain?.link(f, id: id) else { break }
            try update.run(.blob(links.content), .blob(links.timing), .integer(id))
        }
        return window.last?.0
    }

    func updateStatistics(_ s: RecorderStatistics, lastSequence: UInt64?) throws(SQLiteError) {
        try stats.run(
            .int(s.queueCapacity), .int(s.stalls), .u64(s.stallNs), .int(s.batches), .int(s.maxBatch),
            .optional(lastSequence) { .u64($0) })
    }

    /// Replaces the capture facts (schema 7) with `facts`.
    func writeCapture(_ facts: CaptureFacts) throws(SQLiteError) {
        try database.execute("DELETE FROM capture_exits; DELETE FROM capture;")
        try database.cachedStatement("""
            INSERT INTO capture (id, vmm_pid, vmm_binary, vmm_version, vmm_end, records, mmio_exits, device_exits,
                internal_errors, dropped_exit_records, dirty_log_calls)
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run(
            .int(Int(facts.vmmPID)), .text(facts.vmmBinary), .optional(facts.vmmVersion) { .text($0) },
            .optional(facts.end) { .text($0.rawValue) }, .int(facts.records), .int(facts.mmioExits), .int(facts.deviceExits),
            .int(facts.internalErrors), .int(facts.droppedExitRecords), .int(facts.dirtyLogCalls))
        let exits = try database.cachedStatement(
            "INSERT INTO capture_exits (sequence, device_exits, internal_errors) VALUES (?, ?, ?)")
        for (sequence, counts) in facts.exitsByTransaction.sorted(by: { $0.key < $1.key }) {
            try exits.run(.u64(sequence), .int(counts.deviceExits), .int(counts.internalErrors))
        }
    }

    // MARK: Configuration

    /// Writes the header row; a chained journal's chain starts from it.
    /// The comment column (schema 6) is named only when there is a comment, so
    /// the tests can still write headers of older schemas through here.
    static func insertHeader(_ h: JournalHeader, chained: Bool, into database: Database) throws(SQLiteError) {
        let commented = h.comment != nil
        let statement = try database.prepare("""
            INSERT INTO journal_header (id, tool_version, created_unix_ns, host_kernel, backend, kvm_api_version,
                kvm_cap_nr_memslots, kvm_cap_readonly_mem, kvm_cap_immediate_exit, kvm_cap_multi_address_space,
                max_slots, max_slot_size, page_size, readonly_slots, vcpus, wait_strategy, inhibit, scenario, seed,
                command_line, durability, clean_close, closed_unix_ns\(commented ? ", comment" : "")\(chained ? ", chain_start" : ""))
            VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL\(commented ? ", ?" : "")\(chained ? ", ?" : ""))
            """)
        var values: [SQLValue] = [
            .text(h.toolVersion), .u64(h.createdUnixNs), .text(h.hostKernel), .text(h.backend),
            .optional(h.kvm) { .int($0.apiVersion) }, .optional(h.kvm) { .int($0.nrMemslots) },
            .optional(h.kvm) { .bool($0.readonlyMem) }, .optional(h.kvm) { .bool($0.immediateExit) },
            .optional(h.kvm) { .int($0.multiAddressSpace) }, .int(h.maxSlots), .u64(h.maxSlotSize),
            .u64(h.pageSize), .bool(h.readOnlySlots), .int(h.vcpus), .text(h.wait.rawValue), .bool(h.inhibit),
            .optional(h.scenario) { .text($0) }, .optional(h.seed) { .u64($0) }, .text(JSONValue.array(h.commandLine.map(JSONValue.string)).text),
            .text(h.durability.rawValue)]
        if let comment = h.comment { values.append(.text(comment)) }
        if chained { values.append(.blob(HashChain.start(for: h))) }
        try statement.bind(values)
        while try statement.step() {}
    }

    /// Writes the machine's backings and initial regions, replacing any written
    /// before, and the configuration hash over exactly these rows.
    func writeConfiguration(backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) throws(SQLiteError) {
        try database.execute("DELETE FROM backings; DELETE FROM regions;")
        let backing = try database.cachedStatement("INSERT INTO backings (id, size, kind) VALUES (?, ?, ?)")
        for b in backings { try backing.run(.int(b.id), .u64(b.size), .text(b.kind.rawValue)) }
        let region = try database.cachedStatement("""
            INSERT INTO regions (as_id, ordinal, start, last, region_name, region_kind, backing_id,
                backing_offset, read_only, romd, dirty_log)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (asID, sections) in regions.sorted(by: { $0.key < $1.key }) {
            for (ordinal, s) in sections.enumerated() {
                try region.run(
                    .int(asID), .int(ordinal), .u64(s.range.start), .u64(s.range.last), .text(s.regionName),
                    .text(s.kind.rawValue), .optional(s.backing) { .int($0.backing) },
                    .optional(s.backing) { .u64($0.offset) }, .bool(s.readOnly), .bool(s.romd), .bool(s.dirtyLog))
            }
        }
        guard let chain else { return }
        let hash = HashChain.configuration(start: chain.start, backings: backings, regions: regions)
        try database.cachedStatement("UPDATE journal_header SET config_hash = ? WHERE id = 1").run(.blob(hash))
        configurationHash = hash
    }

    /// Stores recorder statistics as read from another journal (each may be NULL:
    /// "not measured"), when a journal is rebuilt from its text form.
    func writeStoredStatistics(_ s: StoredRecorderStatistics) throws(SQLiteError) {
        try stats.run(
            .optional(s.queueCapacity) { .int($0) }, .optional(s.stalls) { .int($0) },
            .optional(s.stallNs) { .u64($0) }, .optional(s.batches) { .int($0) },
            .optional(s.maxBatch) { .int($0) }, .optional(s.lastSequence) { .u64($0) })
    }

    /// The clean-close mark: the last write of a recording.
    func seal() throws(SQLiteError) {
        try setCloseState(clean: true, closedUnixNs: wallClockNs())
    }

    /// Sets the header's close state; `seal()` for a recording, or the state
    /// read from a journal's text form when it is rebuilt (which may be a journal
    /// that was cut short: clean = false). A clean close of a chained journal
    /// writes the seal over everything written before it.
    func setCloseState(clean: Bool, closedUnixNs: UInt64?) throws(SQLiteError) {
        var seal: HashChain.Link?
        if clean, let chain {
            let statistics = try database.prepare(StoredRecorderStatistics.query).rows().next()
                .map(StoredRecorderStatistics.init(row:))
            seal = chain.seal(configuration: configurationHash, closedUnixNs: closedUnixNs, statistics: statistics)
        }
        let statement = try database.prepare("""
            UPDATE journal_header SET clean_close = ?, closed_unix_ns = ?, seal = ?, sealed_transactions = ?,
                sealed_faults = ?
            WHERE id = 1
            """)
        try statement.run(
            .bool(clean), .optional(closedUnixNs) { .u64($0) }, .optional(seal) { .blob($0) },
            .optional(seal.flatMap { _ in chain }) { .int($0.transactionCount) },
            .optional(seal.flatMap { _ in chain }) { .int($0.faultCount) })
    }

    /// Checkpoints the WAL into the main file and leaves WAL mode, so the
    /// finished journal is one self-contained file.
    func checkpointToSingleFile() throws(SQLiteError) {
        _ = try database.texts("PRAGMA wal_checkpoint(TRUNCATE)")
        _ = try database.texts("PRAGMA journal_mode = DELETE")
    }
}
