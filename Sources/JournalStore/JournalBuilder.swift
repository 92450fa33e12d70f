import MemoryModel
import Memslots
import Sync
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Writes a history as a new journal, piece by piece in history order — the
/// configuration, each transaction in sequence order, faults by id in any
/// order, then `finish` — through the recorder's row writer (`JournalRows`), so an
/// imported journal is written as a recorded one is. Memory does not grow with
/// the history: rows go to SQLite as they come, committed every
/// `transactionsPerCommit` transactions.
///
/// The journal is built in a private directory beside `path` and linked into
/// place only by `finish`: a failure at any step, or a builder dropped
/// unfinished, leaves nothing at `path`, and an existing file is never
/// overwritten (`link(2)` refuses to). What a killed earlier build left beside
/// `path` is cleared first.
///
/// Not `Sendable`: one thread builds.
public final class JournalBuilder {
    public let path: String
    private let header: JournalHeader
    private let directory: TemporaryDirectory
    private let partial: String
    private let database: Database
    private let rows: JournalRows
    /// Transactions written since the last commit.
    private var uncommitted = 0
    /// Faults are written unchained as they come (their ids may arrive in any
    /// order) and chained in id order by `finish`, read back this many at a time.
    private static let faultWindow = 1024
    static let transactionsPerCommit = 1024

    public init(path: String, header: JournalHeader) throws(JournalError) {
        var st = stat()
        guard lstat(path, &st) != 0 else { throw .exists(path: path) }
        removeStalePartials(of: path)
        do { directory = try TemporaryDirectory(beside: path) } catch {
            throw .writeFailed(path: path, reason: "cannot create a temporary directory beside it: \(error)")
        }
        self.path = path
        self.header = header
        partial = directory.file("journal")
        do {
            database = try JournalFile.create(at: partial, header: header)
            rows = try JournalRows(database)
            // Bulk settings: the file is private until `finish` links it into
            // place and is thrown away on any failure, so it needs neither a
            // rollback journal nor a sync per commit (`finish` syncs it once,
            // before linking it). The rows come from a history already checked
            // value by value as it was read, so neither the foreign keys nor the
            // CHECK constraints (a third of an import's time) are looked up again
            // here; `verify`, which `export` runs first, re-checks every row of
            // any journal against the schema's constraints, whoever wrote it.
            _ = try database.texts("PRAGMA journal_mode = OFF")
            try database.execute("PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON")
            try database.execute("BEGIN IMMEDIATE")
        } catch let error as JournalError {
            throw error.renamingPath(from: partial, to: path)
        } catch let error as SQLiteError {
            throw JournalError.io(path: partial, error).renamingPath(from: partial, to: path)
        } catch {
            throw .writeFailed(path: path, reason: "\(error)")
        }
    }

    /// The backings and each address space's initial view (once, before or after
    /// the transactions: nothing refers to them by key, and an importer may know
    /// them only at the end).
    public func configuration(backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) throws(JournalError) {
        try write { () throws(SQLiteError) in try rows.writeConfiguration(backings: backings, regions: regions) }
    }

    /// The next complete transaction.
    public func add(_ record: TransactionRecord) throws(JournalError) {
        try write { () throws(SQLiteError) in
            try rows.insertComplete(record)
        }
        try transactionWritten()
    }

    /// The next transaction, cut off: its intent, written as the recorder writes
    /// any intent; its outcome is never written.
    public func add(_ cut: CutOffTransaction) throws(JournalError) {
        try write { () throws(SQLiteError) in
            try rows.insertIntent(TransactionRecord(
                sequence: cut.sequence, addressSpace: cut.addressSpace, beginNs: cut.beginNs, commitNs: 0,
                sections: cut.sections, decision: cut.decision, slotOps: [], timing: .notInhibited(applyNs: 0),
                digest: SlotTableDigest()))
        }
        try transactionWritten()
    }

    /// Fault number `id` (its arrival order; the ids given must end up exactly 1…N).
    public func add(_ fault: SpuriousFault, id: Int) throws(JournalError) {
        try write { () throws(SQLiteError) in try rows.insertUnchainedFault(fault, id: Int64(id)) }
    }

    /// Chains the faults, stores the recorder statistics and the close state as
    /// given (a journal that was cut short stays so), commits, and links the
    /// journal into place.
    public func finish(statistics: StoredRecorderStatistics?) throws(JournalError) {
        try write { () throws(SQLiteError) in
            var after: Int64 = 0
            while let last = try rows.chainFaults(after: after, count: Self.faultWindow) { after = last }
            if let statistics { try rows.writeStoredStatistics(statistics) }
            try rows.setCloseState(clean: header.cleanClose, closedUnixNs: header.closedUnixNs)
            try database.execute("COMMIT")
            try rows.checkpointToSingleFile()
        }
        do {
            let file = try FileDescriptor.open(partial, .readOnly, options: .closeOnExec)
            defer { try? file.close() }
            try file.sync()
        } catch {
            throw .writeFailed(path: path, reason: "cannot sync the new journal: \(error)")
        }
        guard link(partial, path) == 0 else {
            let code = errno
            if code == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: String(cString: strerror(code)))
        }
    }

    private func transactionWritten() throws(JournalError) {
        uncommitted += 1
        guard uncommitted == Self.transactionsPerCommit else { return }
        uncommitted = 0
        try write { () throws(SQLiteError) in try database.execute("COMMIT; BEGIN IMMEDIATE") }
    }

    /// Runs `body`, its errors named by the journal's final path.
    private func write(_ body: () throws(SQLiteError) -> Void) throws(JournalError) {
        do { try body() } catch {
            throw JournalError.io(path: partial, error).renamingPath(from: partial, to: path)
        }
    }
}
