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

    /// What a journal holds when no recorder wrote its statistics: the row the
    /// schema seeds, every value NULL (a history made in memory — an import, a
    /// reduction — reads back so after a trip through a journal).
    public static let unrecorded = StoredRecorderStatistics()

    /// The query `init(row:)` reads.
    static let query = """
        SELECT queue_capacity, queue_stalls, queue_stall_ns, batches, max_batch, last_sequence
        FROM recorder_stats WHERE id = 1
        """

    init(row: Statement.Row) {
        self.init(
            queueCapacity: row.int64OrNil("queue_capacity").map(Int.init),
            stalls: row.int64OrNil("queue_stalls").map(Int.init), stallNs: row.u64OrNil("queue_stall_ns"),
            batches: row.int64OrNil("batches").map(Int.init), maxBatch: row.int64OrNil("max_batch").map(Int.init),
            lastSequence: row.u64OrNil("last_sequence"))
    }

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
    /// Transactions applied after their drain gave up at the deadline.
    public var drainTimeouts: Int
    public var firstSequence: UInt64?
    public var lastSequence: UInt64?
    /// Sequences missing between the first and the last (should be 0).
    public var gaps: Int
    public var cleanClose: Bool
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
    /// `region_names`, read when the first packed section is.
    private var regionNames: RegionNames?
    /// What opening it found worth telling (see `JournalFile.Opened.notes`).
    public let notes: [String]
    /// Keeps private copies (of a journal read from a copy, of a migrated one) alive as long as the reader.
    private let scratch: [TemporaryDirectory]

    public init(path: String, migration: JournalFile.MigrationPolicy = .refuse) throws(JournalError) {
        let opened = try JournalFile.openForReading(path, migration: migration)
        scratch = opened.scratch
        notes = opened.notes
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
                clean_close, closed_unix_ns, comment
            FROM journal_header WHERE id = 1
            """) { r throws(JournalError) -> JournalHeader in
            let kvm: JournalHeader.KVMCapabilities? = r.isNull("kvm_api_version") ? nil : JournalHeader.KVMCapabilities(
                apiVersion: Int(r.int64("kvm_api_version")), nrMemslots: Int(r.int64OrNil("kvm_cap_nr_memslots") ?? 0),
                readonlyMem: r.bool("kvm_cap_readonly_mem"), immediateExit: r.bool("kvm_cap_immediate_exit"),
                multiAddressSpace: Int(r.int64OrNil("kvm_cap_multi_address_space") ?? 1))
            let waitText = r.text("wait_strategy")
            guard let wait = WaitStrategy(rawValue: waitText) else { throw bad("header: wait_strategy '\(waitText)'") }
            let durabilityText = r.text("durability")
            guard let durability = Durability(rawValue: durabilityText) else {
                throw bad("header: durability '\(durabilityText)'")
            }
            let caps = BackendCapabilities(
                maxSlots: Int(r.int64("max_slots")), maxSlotSize: r.u64("max_slot_size"),
                readOnlyMemory: r.bool("readonly_slots"), addressSpaces: kvm?.multiAddressSpace ?? 2,
                pageSize: r.u64("page_size"))
            let commandLine = r.text("command_line")
            return JournalHeader(
                toolVersion: r.text("tool_version"), createdUnixNs: r.u64("created_unix_ns"),
                hostKernel: r.text("host_kernel"), backend: r.text("backend"), kvm: kvm, capabilities: caps,
                vcpus: Int(r.int64("vcpus")), wait: wait, inhibit: r.bool("inhibit"), scenario: r.textOrNil("scenario"),
                seed: r.u64OrNil("seed"), commandLine: parseJSONStrings(commandLine) ?? [commandLine],
                durability: durability, cleanClose: r.bool("clean_close"), closedUnixNs: r.u64OrNil("closed_unix_ns"),
                comment: r.textOrNil("comment"))
        }
        guard let header = rows.first else { throw bad("no journal_header row: the recording never started") }
        return header
    }

    public func backings() throws(JournalError) -> [BackingDescriptor] {
        try query("SELECT id, size, kind FROM backings ORDER BY id") { r throws(JournalError) in
            let kindText = r.text("kind")
            guard let kind = BackingKind(rawValue: kindText) else { throw bad("backing \(r.int64("id")): kind '\(kindText)'") }
            return BackingDescriptor(id: BackingID(truncatingIfNeeded: r.int64("id")), size: r.u64("size"), kind: kind)
        }
    }

    /// The flat view of each address space when recording started.
    public func regions() throws(JournalError) -> [UInt16: [MemorySection]] {
        let rows = try query("""
            SELECT as_id, start, last, region_name, region_kind, backing_id, backing_offset, read_only, romd, dirty_log
            FROM regions ORDER BY as_id, ordinal
            """) { r throws(JournalError) in
            let section: MemorySection
            do throws(StoredValues.Invalid) {
                section = try StoredValues.section(r, what: "region of as \(r.int64("as_id"))")
            } catch {
                throw bad(error.detail)
            }
            return (try u16(r.int64("as_id"), "region"), section)
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }

    // MARK: Transactions

    /// Complete transactions with `from ≤ sequence ≤ to`, in sequence order,
    /// unpacked from their rows. Cut-off transactions are not included (see
    /// `cutOffTransactions`).
    public func records(from: UInt64? = nil, to: UInt64? = nil) throws(JournalError) -> [TransactionRecord] {
        let bounds: [SQLValue] = [.u64(from ?? 0), .integer(Int64(clamping: to ?? UInt64(Int64.max)))]
        return try query("""
            SELECT t.sequence, t.as_id, t.begin_ns, t.commit_ns, t.overlap_delete_index, t.overlap_add_index,
                t.sections, t.inhibited, t.drain_ns, t.apply_ns, t.inhibit_ns, t.vcpus_kicked, t.slot_ops,
                t.slot_count, t.slot_hash, dt.vcpus AS drain_timeout_vcpus, dt.vm_ioctls AS drain_timeout_vm_ioctls
            FROM transactions t LEFT JOIN drain_timeouts dt USING (sequence)
            WHERE t.outcome IS NOT NULL AND t.sequence BETWEEN ? AND ? ORDER BY t.sequence
            """, bounds) { r throws(JournalError) in
            let sequence = r.u64("sequence")
            let what = "transaction \(sequence)"
            let sections = try self.sections(r, what: what)
            let ops: [SlotOperation]
            do throws(PackedColumns.Malformed) {
                ops = try PackedColumns.slotOps(from: r.blobOrNil("slot_ops") ?? [], sections: sections)
            } catch {
                throw bad("\(what): \(error.detail)")
            }
            return TransactionRecord(
                sequence: sequence, addressSpace: try u16(r.int64("as_id"), what), beginNs: r.u64("begin_ns"),
                commitNs: r.u64("commit_ns"), sections: sections, decision: try decision(r, sections, what: what),
                slotOps: ops,
                timing: InhibitTiming(
                    inhibited: r.bool("inhibited"), drainNs: r.u64("drain_ns"), applyNs: r.u64("apply_ns"),
                    inhibitNs: r.u64("inhibit_ns"), vcpusKicked: Int(r.int64("vcpus_kicked")),
                    drainTimeout: try drainTimeout(r, what: what)),
                digest: SlotTableDigest(count: Int(r.int64("slot_count")), hash: r.u64("slot_hash")))
        }
    }

    /// One complete transaction, or nil if there is none with that sequence.
    public func record(_ sequence: UInt64) throws(JournalError) -> TransactionRecord? {
        try records(from: sequence, to: sequence).first
    }

    /// Transactions whose outcome never reached the disk.
    public func cutOffTransactions() throws(JournalError) -> [CutOffTransaction] {
        try query("""
            SELECT sequence, as_id, begin_ns, overlap_delete_index, overlap_add_index, sections
            FROM transactions WHERE outcome IS NULL ORDER BY sequence
            """) { r throws(JournalError) in
            let sequence = r.u64("sequence")
            let what = "cut-off transaction \(sequence)"
            let sections = try self.sections(r, what: what)
            return CutOffTransaction(
                sequence: sequence, addressSpace: try u16(r.int64("as_id"), what), beginNs: r.u64("begin_ns"),
                sections: sections, decision: try decision(r, sections, what: what))
        }
    }

    /// The first and last transaction sequences in the journal, complete or cut
    /// off (nil for a journal without transactions).
    public func sequenceBounds() throws(JournalError) -> (first: UInt64, last: UInt64)? {
        try query("SELECT min(sequence) AS first, max(sequence) AS last FROM transactions") { r in
            r.u64OrNil("first").flatMap { first in r.u64OrNil("last").map { (first, $0) } }
        }.first ?? nil
    }

    // MARK: Faults and statistics

    /// Every spurious fault, in arrival order.
    public func faults() throws(JournalError) -> [SpuriousFault] { try numberedFaults("", []).map(\.fault) }

    /// What a live capture saw of its VMM (schema 7), or nil for a journal not captured.
    public func capture() throws(JournalError) -> CaptureFacts? {
        guard var facts = try query("""
            SELECT vmm_pid, vmm_binary, vmm_version, vmm_end, records, mmio_exits, device_exits, internal_errors,
                dropped_exit_records, dirty_log_calls FROM capture WHERE id = 1
            """, [], { row in
                var facts = CaptureFacts(vmmPID: Int32(truncatingIfNeeded: row.int64("vmm_pid")), vmmBinary: row.text("vmm_binary"),
                                         vmmVersion: row.textOrNil("vmm_version"))
                facts.end = row.textOrNil("vmm_end").flatMap(CaptureFacts.End.init(rawValue:))
                facts.records = Int(row.int64("records"))
                facts.mmioExits = Int(row.int64("mmio_exits"))
                facts.deviceExits = Int(row.int64("device_exits"))
                facts.internalErrors = Int(row.int64("internal_errors"))
                facts.droppedExitRecords = Int(row.int64("dropped_exit_records"))
                facts.dirtyLogCalls = Int(row.int64("dirty_log_calls"))
                return facts
            }).first
        else { return nil }
        for (sequence, counts) in try query(
            "SELECT sequence, device_exits, internal_errors FROM capture_exits ORDER BY sequence", [], { row in
                (row.u64("sequence"), CaptureFacts.ExitCounts(deviceExits: Int(row.int64("device_exits")),
                                                              internalErrors: Int(row.int64("internal_errors"))))
            }) {
            facts.exitsByTransaction[sequence] = counts
        }
        return facts
    }

    /// The recorder's stored statistics.
    public func recorderStatistics() throws(JournalError) -> StoredRecorderStatistics? {
        try query(StoredRecorderStatistics.query, [], StoredRecorderStatistics.init(row:)).first
    }

    public func summary() throws(JournalError) -> JournalSummary {
        // Slot operations are counted in their packed column, row by row (nothing kept).
        var operations = 0, failedOperations = 0
        try forEachRow("SELECT sequence, slot_ops FROM transactions WHERE slot_ops IS NOT NULL") { r throws(JournalError) in
            do throws(PackedColumns.Malformed) {
                let counted = try PackedColumns.countSlotOps(in: r.blobOrNil("slot_ops") ?? [])
                operations += counted.total
                failedOperations += counted.failed
            } catch {
                throw bad("transaction \(r.u64("sequence")): \(error.detail)")
            }
        }
        return try query("""
            SELECT count(*) AS transactions, count(outcome) AS complete, sum(overlaps) AS overlapping,
                sum(inhibited) AS inhibited, sum(outcome = 'failed') AS failed, min(sequence) AS first,
                max(sequence) AS last,
                (SELECT count(*) FROM faults) AS faults,
                (SELECT count(*) FROM drain_timeouts) AS drain_timeouts,
                (SELECT clean_close FROM journal_header WHERE id = 1) AS clean_close
            FROM transactions
            """) { r in
            let transactions = Int(r.int64("transactions"))
            let complete = Int(r.int64("complete"))
            let first = r.u64OrNil("first")
            let last = r.u64OrNil("last")
            let span = first.flatMap { first in last.map { Int(clamping: $0 &- first &+ 1) } } ?? 0
            return JournalSummary(
                transactions: transactions, complete: complete, cutOff: transactions - complete,
                overlapping: Int(r.int64OrNil("overlapping") ?? 0), inhibited: Int(r.int64OrNil("inhibited") ?? 0),
                failedTransactions: Int(r.int64OrNil("failed") ?? 0),
                slotOperations: operations, failedOperations: failedOperations,
                faults: Int(r.int64("faults")), drainTimeouts: Int(r.int64("drain_timeouts")), firstSequence: first, lastSequence: last, gaps: span - transactions,
                cleanClose: r.int64OrNil("clean_close") == 1)
        }[0]
    }

    /// `inhibit_ns` of every inhibited transaction, one at a time (for
    /// percentiles counted in bounded memory: ten million of them held at once
    /// would be 80 MB).
    public func forEachInhibitNs(_ body: (UInt64) -> Void) throws(JournalError) {
        try forEachRow("SELECT inhibit_ns FROM transactions WHERE inhibited = 1") { body($0.u64("inhibit_ns")) }
    }

    // MARK: Decoding

    /// The packed `sections` column of row `r`.
    private func sections(_ r: Statement.Row, what: String) throws(JournalError) -> [SectionChange] {
        let names: RegionNames
        if let loaded = regionNames {
            names = loaded
        } else {
            do { names = try RegionNames(database) } catch { throw classify(error) }
            regionNames = names
        }
        do throws(PackedColumns.Malformed) {
            return try PackedColumns.sections(from: r.blobOrNil("sections") ?? []) { id in (try? names.name(id)) ?? nil }
        } catch {
            throw bad("\(what): \(error.detail)")
        }
    }

    /// The decision from the columns overlap_delete_index and overlap_add_index;
    /// its ranges are those of the delete and the add they name.
    private func decision(_ r: Statement.Row, _ sections: [SectionChange], what: String) throws(JournalError) -> OverlapDecision {
        guard let d = r.int64OrNil("overlap_delete_index"), let a = r.int64OrNil("overlap_add_index") else {
            return OverlapDecision(pair: nil)
        }
        guard let pair = OverlapDecision.Pair(naming: Int(d), Int(a), of: sections) else {
            throw bad("\(what): its overlap decision names delete \(d) and add \(a), which it does not have")
        }
        return OverlapDecision(pair: pair)
    }

    /// The drain timeout from the columns drain_timeout_vcpus (a JSON array of
    /// vCPU indices) and drain_timeout_vm_ioctls, if the transaction had one.
    private func drainTimeout(_ r: Statement.Row, what: String) throws(JournalError) -> DrainTimeout? {
        guard let text = r.textOrNil("drain_timeout_vcpus") else { return nil }
        guard case .array(let items)? = try? JSONParser.parse(Array(text.utf8)) else {
            throw bad("\(what): drain timeout vCPUs '\(text.prefix(80))' is not a JSON array")
        }
        var vcpus: [Int] = []
        for item in items {
            guard case .number(let digits) = item, let vcpu = Int(digits), vcpu >= 0 else {
                throw bad("\(what): drain timeout vCPUs '\(text.prefix(80))' holds something other than vCPU indices")
            }
            vcpus.append(vcpu)
        }
        let vm = r.int64("drain_timeout_vm_ioctls")
        guard vm >= 0 else { throw bad("\(what): drain timeout VM ioctls \(vm) is negative") }
        return DrainTimeout(vcpus: vcpus, vmIoctls: Int(vm))
    }

    private func u16(_ value: Int64, _ what: String) throws(JournalError) -> UInt16 {
        guard let v = UInt16(exactly: value) else { throw bad("\(what): address space \(value) out of range") }
        return v
    }

    private func bad(_ detail: String) -> JournalError { .badData(path: path, detail: detail) }

    /// SQLite's damage codes are `.damaged`, other failures `.io`.
    private func classify(_ error: SQLiteError) -> JournalError {
        error.isDamage ? .damaged(path: path, detail: error.message) : .io(path: path, error)
    }

    /// Runs a cached query, mapping each row; SQLite's damage codes become
    /// `.damaged`, other failures `.io`.
    func query<T>(_ sql: String, _ values: [SQLValue] = [], _ row: (Statement.Row) throws(JournalError) -> T)
        throws(JournalError) -> [T]
    {
        var result: [T] = []
        try forEachRow(sql, values) { (r: Statement.Row) throws(JournalError) in result.append(try row(r)) }
        return result
    }

    /// Runs a cached query, handing each row to `body` and keeping none (a walk
    /// over every transaction holds nothing per transaction); errors as `query`'s.
    func forEachRow(_ sql: String, _ values: [SQLValue] = [], _ body: (Statement.Row) throws(JournalError) -> Void)
        throws(JournalError)
    {
        let rows: Statement.Rows
        do { rows = try database.cachedStatement(sql).rows(values) } catch { throw classify(error) }
        let statement = rows.statement
        // A cached statement left mid-way (a row that did not decode) would hold its read open.
        defer { statement.reset() }
        _ = statement.takeMissingColumn()
        while true {
            let next: Statement.Row?
            do { next = try rows.next() } catch { throw classify(error) }
            guard let next else { break }
            try body(next)
        }
        if let missing = statement.takeMissingColumn() {
            throw .badData(path: path, detail: "no column \"\(missing)\" where the journal schema has one; this is not a memjournal table layout")
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
