import CSQLite
import MemoryModel
import Memslots
import Sync

/// Writes a running machine's transactions and faults to a journal, off the
/// commit path.
///
/// ## Threads
/// `transactionCommitted` (the committing thread) and `spuriousFault` (vCPU
/// threads) only append to a bounded in-memory queue (`RecorderQueue`); one
/// writer thread (an `OSThread`) owns the SQLite connection and commits what it
/// finds in batches of up to `Options.maxBatch` items. No producer ever waits for
/// disk I/O — only, when the queue is full, for the writer to take a batch (the
/// queue-full policy: block and count, see `RecorderQueue`).
///
/// ## Crash safety: intent, outcome, cut off
/// The journal is in WAL mode with `synchronous=NORMAL` (set explicitly) or
/// `FULL` (`Durability.full`). Each batch is written as two SQLite transactions:
///
/// 1. **intent** — for every transaction record, its `transactions` row with the
///    outcome columns NULL, and its sections (what the listener was asked to do
///    and its overlap decision); plus the batch's faults and configuration;
/// 2. **outcome** — the outcome columns (`outcome`, timings, `commit_ns`), the
///    slot operations with their errno, and the slot-table digest.
///
/// A transaction row whose `outcome` is NULL is therefore *cut off*: its intent
/// is on disk, its outcome is not, because the process died between the two
/// commits. `JournalReader.cutOffTransactions()` and the `cut_off_transactions`
/// view report it; it is never mistaken for a complete transaction. What this
/// cannot do — no design can without putting disk I/O on the commit path — is
/// save records still queued in memory at the moment of a `kill -9`: those are
/// lost with the process. That loss is not silent either: the header keeps
/// `clean_close = 0`, and `recorder_stats.last_sequence` names the last
/// transaction whose outcome is durable, so a reader says "cut short after
/// transaction N; later transactions were not recorded".
///
/// Records reach the recorder complete (the listener reports after its commit),
/// so today a cut-off transaction can only come from a kill between the writer's
/// two commits; the two-step layout is also what lets a future "about to apply"
/// notification from the listener be recorded before the apply starts.
///
/// ## Closing
/// `close()` drains the queue, marks the header `clean_close = 1`, checkpoints
/// the WAL into the main file and switches the file back to rollback-journal
/// mode, so a sealed journal is one self-contained file.
public final class JournalRecorder: TransactionObserver {
    public struct Options: Sendable {
        /// Items (transactions and faults) the queue holds before producers wait.
        public var queueCapacity: Int
        /// Most items written per batch.
        public var maxBatch: Int
        /// Called on the writer thread after each batch is committed, with the
        /// highest sequence whose outcome is now durable (nil if none yet).
        public var onBatchCommitted: (@Sendable (UInt64?) -> Void)?
        /// Whether to write the hash chain (schema 5). False writes an unchained
        /// journal, as older schemas did, which verify refuses: it exists only to
        /// measure what the chain costs.
        public var hashChain: Bool

        public init(queueCapacity: Int = 4096, maxBatch: Int = 512, onBatchCommitted: (@Sendable (UInt64?) -> Void)? = nil,
                    hashChain: Bool = true) {
            self.queueCapacity = max(1, queueCapacity)
            self.maxBatch = max(1, maxBatch)
            self.onBatchCommitted = onBatchCommitted
            self.hashChain = hashChain
        }
    }

    public let path: String
    private let queue: RecorderQueue
    private let writer: OSThread
    /// The writer's terminal state: nil while running or after a clean finish,
    /// else the first error it hit. Set once by the writer thread; read after
    /// `join()` (which orders it) in `close()`.
    private let failure = PlainLocked<JournalError?>(nil)
    /// Guards `close()` against running twice (the second call returns the first's result).
    private let closed = PlainLocked<Result<RecorderStatistics, JournalError>?>(nil)

    /// Creates the journal at `path` (which must not exist), writes `header` and
    /// starts the writer thread.
    public init(path: String, header: JournalHeader, options: Options = Options()) throws(JournalError) {
        self.path = path
        let database = try JournalFile.create(at: path, header: header, chained: options.hashChain)
        let rows: JournalRows
        do {
            rows = try JournalRows(database)
        } catch {
            throw .io(path: path, error)
        }
        let queue = RecorderQueue(capacity: options.queueCapacity)
        self.queue = queue
        let failure = self.failure
        let handOff = HandOff(rows)
        let maxBatch = options.maxBatch
        let callback = options.onBatchCommitted
        writer = OSThread {
            Self.writerLoop(rows: handOff.take(), queue: queue, maxBatch: maxBatch, failure: failure, callback: callback)
        }
    }

    // MARK: Producers

    /// Records the machine's backings and the regions of its address spaces
    /// (call once the machine is built).
    public func recordConfiguration(backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) {
        queue.push(.configuration(backings: backings, regions: regions))
    }

    public func transactionCommitted(_ record: TransactionRecord) { queue.push(.transaction(record)) }

    public func spuriousFault(_ fault: SpuriousFault) { queue.push(.fault(fault)) }

    /// Records `record` as cut off: its intent (sections, decision) without an
    /// outcome, for a transaction its VMM died in the middle of (`capture`).
    public func transactionCutOff(_ record: TransactionRecord) { queue.push(.cutOff(record)) }

    /// Records (again) what a live capture saw of its VMM (`capture`, `serve`).
    public func recordCapture(_ facts: CaptureFacts) { queue.push(.capture(facts)) }

    /// Waits until everything handed over so far is committed to the journal.
    public func flush() { queue.waitUntilWritten() }

    public var statistics: RecorderStatistics { queue.snapshot }

    /// Drains the queue, seals the journal and stops the writer. Throws the first
    /// write error, if any (with the statistics saying how much was lost).
    @discardableResult
    public func close() throws(JournalError) -> RecorderStatistics {
        let result = closed.withLock { state -> Result<RecorderStatistics, JournalError> in
            if let state { return state }
            queue.close()
            writer.join()
            let outcome: Result<RecorderStatistics, JournalError> =
                if let error = failure.withLock({ $0 }) { .failure(error) } else { .success(queue.snapshot) }
            state = outcome
            return outcome
        }
        return try result.get()
    }

    /// Holds (or releases) the writer thread, so tests can fill the queue.
    func pauseWriter(_ paused: Bool) { queue.setPaused(paused) }

    deinit { _ = try? close() }

    // MARK: Writer thread

    private static func writerLoop(
        rows: JournalRows, queue: RecorderQueue, maxBatch: Int, failure: PlainLocked<JournalError?>,
        callback: (@Sendable (UInt64?) -> Void)?
    ) {
        let path = rows.database.path
        var lastSequence: UInt64?
        var failed = false
        while let (batch, statistics) = queue.take(max: maxBatch) {
            var records: [TransactionRecord] = []
            var faults = 0
            for item in batch {
                if case .transaction(let record) = item { records.append(record) }
                if case .fault = item { faults += 1 }
            }
            guard !failed else {
                queue.finished(written: 0, lost: batch.count, rows: 0, transactions: 0, faults: 0)
                continue
            }
            do {
                var rowCount = 0
                try rows.database.transaction { () throws(SQLiteError) in
                    for item in batch {
                        switch item {
                        case .transaction(let record):
                            try rows.insertIntent(record)
                            rowCount += 1
                        case .cutOff(let record):
                            try rows.insertIntent(record)
                            rowCount += 1
                        case .fault(let fault):
                            try rows.insertFault(fault)
                            rowCount += 1
                        case .capture(let facts):
                            try rows.writeCapture(facts)
                        case .configuration(let backings, let regions):
                            try rows.writeConfiguration(backings: backings, regions: regions)
                        }
                    }
                }
                let batchLast = records.map(\.sequence).max()
                try rows.database.transaction { () throws(SQLiteError) in
                    for record in records {
                        try rows.writeOutcome(record)
                        rowCount += record.timing.drainTimeout == nil ? 1 : 2
                    }
                    try rows.updateStatistics(statistics, lastSequence: batchLast.map { max($0, lastSequence ?? 0) } ?? lastSequence)
                }
                if let batchLast { lastSequence = max(batchLast, lastSequence ?? 0) }
                queue.finished(written: batch.count, lost: 0, rows: rowCount, transactions: records.count, faults: faults)
                callback?(lastSequence)
            } catch {
                failed = true
                failure.withLock { if $0 == nil { $0 = .io(path: path, error) } }
                queue.finished(written: 0, lost: batch.count, rows: 0, transactions: 0, faults: 0)
            }
        }
        guard !failed else { return }
        do {
            try rows.updateStatistics(queue.snapshot, lastSequence: lastSequence)
            try rows.seal()
            try rows.checkpointToSingleFile()
        } catch {
            failure.withLock { if $0 == nil { $0 = .io(path: path, error) } }
        }
    }
}

/// Moves a non-`Sendable` value to exactly one other thread.
///
/// `@unchecked Sendable`: the creating thread gives up the value when it builds
/// the box (it keeps no other reference it uses afterwards — `JournalRecorder.init`
/// creates the `JournalRows` and its `Database`, then only the writer thread
/// touches them), and `take()` is called once, by the receiving thread; the
/// thread start (pthread_create) orders the hand-over.
private final class HandOff<Value>: @unchecked Sendable {
    private var value: Value?
    init(_ value: Value) { self.value = value }
    func take() -> Value {
        guard let value else { fatalError("HandOff.take() called twice") }
        self.value = nil
        return value
    }
}
