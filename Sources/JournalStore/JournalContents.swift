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

    /// Writes these contents as a new journal at `path` (refused if it exists)
    /// through `JournalBuilder`: configuration, transactions in sequence order (a
    /// cut-off one keeps its outcome NULL, as on disk), faults with their arrival
    /// order, recorder statistics, and the close state (`clean_close`,
    /// `closed_unix_ns`) exactly as given. A failure leaves nothing at `path`.
    public func writeJournal(to path: String) throws(JournalError) {
        let builder = try JournalBuilder(path: path, header: header)
        try builder.configuration(backings: backings, regions: regions)
        try forEachTransaction { (item) throws(JournalError) in
            switch item {
            case .complete(let record, _): try builder.add(record)
            case .cutOff(let cut, _): try builder.add(cut)
            }
        }
        for (index, fault) in faults.enumerated() { try builder.add(fault, id: index + 1) }
        try builder.finish(statistics: recorderStatistics)
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
