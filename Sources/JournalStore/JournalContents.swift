import CSQLite
import MemoryModel
import Memslots
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Everything a journal holds, as `JournalReader` returns it, in one value:
/// what the canonical JSONL form encodes and what importing it writes back.
///
/// Transactions stay `TransactionRecord`s (complete) and `CutOffTransaction`s
/// (intent only); this type only gathers them with the header, configuration,
/// faults and recorder statistics, so export and import need no second
/// description of a transaction.
public struct JournalContents: Hashable, Sendable {
    public var header: JournalHeader
    public var backings: [BackingDescriptor]
    /// The flat view of each address space when recording started.
    public var regions: [UInt16: [MemorySection]]
    /// Complete transactions, in sequence order.
    public var records: [TransactionRecord]
    /// Transactions whose outcome never reached the disk, in sequence order.
    public var cutOff: [CutOffTransaction]
    /// Spurious faults in arrival order (`faults.id` order).
    public var faults: [SpuriousFault]
    /// The `recorder_stats` row (nil when the journal has none).
    public var recorderStatistics: StoredRecorderStatistics?

    public init(
        header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]],
        records: [TransactionRecord], cutOff: [CutOffTransaction], faults: [SpuriousFault],
        recorderStatistics: StoredRecorderStatistics?
    ) {
        self.header = header
        self.backings = backings
        self.regions = regions
        self.records = records
        self.cutOff = cutOff
        self.faults = faults
        self.recorderStatistics = recorderStatistics
    }

    /// Number of transactions, complete and cut off.
    public var transactionCount: Int { records.count + cutOff.count }

    /// Writes these contents as a new journal at `path` (refused if it exists),
    /// through the same row-writing code as the recorder (`JournalRows`): header,
    /// configuration, each transaction's intent, then the outcome of the complete
    /// ones (a cut-off transaction keeps its outcome NULL, as on disk), faults
    /// with their arrival order, recorder statistics, and finally the close state
    /// (`clean_close`, `closed_unix_ns`) exactly as given.
    ///
    /// The journal is built under a temporary name beside `path` and linked into
    /// place only when complete, so a failure leaves nothing at `path`, and an
    /// existing file is never overwritten (`link(2)` refuses to).
    public func writeJournal(to path: String) throws(JournalError) {
        var st = stat()
        guard lstat(path, &st) != 0 else { throw .exists(path: path) }
        // Built in a private directory beside `path` (same file system, a name no
        // one else can have made), which goes away with everything in it; what a
        // killed earlier run left there is cleared first.
        removeStalePartials(of: path)
        let directory: TemporaryDirectory
        do { directory = try TemporaryDirectory(beside: path) } catch {
            throw .writeFailed(path: path, reason: "cannot create a temporary directory beside it: \(error)")
        }
        let partial = directory.file("journal")
        do {
            try writeRows(to: partial)
        } catch {
            throw error.renamingPath(from: partial, to: path)
        }
        guard link(partial, path) == 0 else {
            let code = errno
            if code == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: String(cString: strerror(code)))
        }
    }

    /// Writes every row to a new journal at `path`; the database is closed on return.
    private func writeRows(to path: String) throws(JournalError) {
        let database = try JournalFile.create(at: path, header: header)
        do {
            let rows = try JournalRows(database)
            try database.transaction { () throws(SQLiteError) in
                try rows.writeConfiguration(backings: backings, regions: regions)
                for record in records { try rows.insertIntent(record) }
                for cut in cutOff {
                    // The intent of a cut-off transaction, written as the recorder
                    // writes any intent; its outcome is never written.
                    try rows.insertIntent(TransactionRecord(
                        sequence: cut.sequence, addressSpace: cut.addressSpace, beginNs: cut.beginNs, commitNs: 0,
                        sections: cut.sections, decision: cut.decision, slotOps: [],
                        timing: .notInhibited(applyNs: 0), digest: SlotTableDigest()))
                }
                for record in records { try rows.writeOutcome(record) }
                for fault in faults { try rows.insertFault(fault) }
                if let recorderStatistics { try rows.writeStoredStatistics(recorderStatistics) }
                try rows.setCloseState(clean: header.cleanClose, closedUnixNs: header.closedUnixNs)
            }
            try rows.checkpointToSingleFile()
        } catch {
            throw .io(path: path, error)
        }
    }
}

extension JournalReader {
    /// The whole journal: header, configuration, every transaction (complete and
    /// cut off), faults and recorder statistics.
    public func contents() throws(JournalError) -> JournalContents {
        JournalContents(
            header: try header(), backings: try backings(), regions: try regions(), records: try records(),
            cutOff: try cutOffTransactions(), faults: try faults(), recorderStatistics: try recorderStatistics())
    }
}

extension JournalError {
    /// The same error about `to` when it concerned `from` (a temporary file the
    /// user never named).
    func renamingPath(from: String, to: String) -> JournalError {
        guard path == from else { return self }
        switch self {
        case .io(_, let error):
            var renamed = error
            renamed.path = to
            return .io(path: to, renamed)
        case .exists: return .exists(path: to)
        case .writeFailed(_, let reason): return .writeFailed(path: to, reason: reason)
        default: return self
        }
    }
}
