import MemoryModel
import Memslots
import Sync

/// What the recorder's producers hand to its writer thread.
enum RecorderItem: Sendable {
    case configuration(backings: [BackingDescriptor], regions: [UInt16: [MemorySection]])
    case transaction(TransactionRecord)
    /// A transaction whose outcome will never come (the VMM that made it died
    /// mid-transaction): only its intent is written, so readers see it cut off.
    case cutOff(TransactionRecord)
    case fault(SpuriousFault)
    /// A captured VMM's facts, replacing any written before.
    case capture(CaptureFacts)
}

/// The recorder's bounded queue between producers (the committing thread, vCPU
/// threads) and the writer thread.
///
/// Queue-full policy: **block and count**. A producer that finds the queue full
/// waits for the writer to take a batch; every such wait is counted (`stalls`)
/// and timed (`stallNs`), and both go into the journal's `recorder_stats` row
/// with each batch. Nothing is ever dropped while the journal is healthy. Two
/// situations do lose items, and both are counted and reported rather than
/// silent: items pushed after `close()` (`lateItems`), and items the writer
/// could not write after SQLite failed (`lostAfterFailure`; `close()` throws).
///
/// Producers park on a plain mutex/condition pair, never on
/// `Synchronization.Mutex` (a priority-inheritance futex that made parked vCPU
/// threads cost milliseconds per memslot ioctl on our hosts).
///
/// `@unchecked Sendable`: every stored `var` below is read and written only with
/// `mutex` held (each method takes it for its whole body, and the conditions wait
/// on that same mutex); `mutex` and the conditions are themselves thread-safe.
final class RecorderQueue: @unchecked Sendable {
    private let mutex = PlainMutex()
    /// Signalled when an item arrives, and on close/resume (writer waits on it).
    private let notEmpty = PlainMutex.Condition()
    /// Broadcast when the writer takes a batch or the queue closes (producers wait on it).
    private let notFull = PlainMutex.Condition()
    /// Broadcast when the writer has committed a batch (`waitUntilWritten` waits on it).
    private let progress = PlainMutex.Condition()

    let capacity: Int
    // Invariant (under `mutex`): items.count - head <= capacity, except that it
    // is never enforced against the writer (only producers wait).
    private var items: [RecorderItem] = []
    private var head = 0
    private var closing = false
    private var paused = false
    /// True while the writer is parked in `take`; producers signal only then (and
    /// only for a batch's worth), sparing a futex wake per item.
    private var writerWaiting = false
    /// Items accepted so far, and items the writer has finished with (written or
    /// counted as lost); `done <= pushed` always.
    private var pushed = 0
    private var done = 0
    private var statistics: RecorderStatistics

    init(capacity: Int) {
        self.capacity = capacity
        statistics = RecorderStatistics(queueCapacity: capacity)
    }

    /// Adds an item, waiting while the queue is full (counted as a stall).
    func push(_ item: RecorderItem) {
        mutex.lock()
        defer { mutex.unlock() }
        if items.count - head >= capacity, !closing {
            statistics.stalls += 1
            let start = MonotonicClock.now()
            while items.count - head >= capacity, !closing { notFull.wait(mutex) }
            statistics.stallNs &+= MonotonicClock.now() - start
        }
        guard !closing else {
            statistics.lateItems += 1
            return
        }
        items.append(item)
        pushed += 1
        switch item {
        case .transaction: statistics.transactionsEnqueued += 1
        case .fault: statistics.faultsEnqueued += 1
        case .configuration, .cutOff, .capture: break
        }
        // Wake the writer only once a batch's worth has gathered: an idle writer
        // polls every `idleWaitNs` anyway, so most enqueues make no syscall.
        if writerWaiting && items.count - head >= Self.wakeThreshold { notEmpty.signal() }
    }

    /// Items that make a producer wake an idle writer at once.
    static let wakeThreshold = 64
    /// How long an idle writer waits before looking again: the most a queued
    /// transaction waits before the writer takes it (bounds what a `kill -9` can lose).
    static let idleWaitNs: UInt64 = 2_000_000

    /// Takes up to `max` items for the writer, waiting for at least one; nil once
    /// the queue is closed and empty. Also returns the statistics to store with
    /// the batch.
    func take(max: Int) -> (batch: [RecorderItem], statistics: RecorderStatistics)? {
        mutex.lock()
        defer { mutex.unlock() }
        while (items.count == head || paused) && !closing {
            writerWaiting = true
            notEmpty.wait(mutex, nanoseconds: Self.idleWaitNs)
            writerWaiting = false
        }
        guard items.count > head else { return nil }
        let batch: [RecorderItem]
        if head == 0, items.count <= max {
            // The common case (the writer keeps up): hand over the whole buffer in
            // O(1), so producers never wait behind a copy.
            batch = items
            items = []
            items.reserveCapacity(batch.count)
        } else {
            let end = min(items.count, head + max)
            batch = Array(items[head..<end])
            head = end
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head > capacity {
                items.removeFirst(head)
                head = 0
            }
        }
        statistics.batches += 1
        statistics.maxBatch = Swift.max(statistics.maxBatch, batch.count)
        notFull.broadcast()
        return (batch, statistics)
    }

    /// The writer finished a batch: `written` items stored, `lost` not stored.
    func finished(written: Int, lost: Int, rows: Int, transactions: Int, faults: Int) {
        mutex.withLock {
            done += written + lost
            statistics.lostAfterFailure += lost
            statistics.rowsWritten += rows
            statistics.transactionsWritten += transactions
            statistics.faultsWritten += faults
            progress.broadcast()
        }
    }

    /// Waits until every item pushed before the call has been written (or lost).
    func waitUntilWritten() {
        mutex.withLock {
            let target = pushed
            while done < target { progress.wait(mutex) }
        }
    }

    /// No more items; the writer drains what is queued and stops.
    func close() {
        mutex.withLock {
            closing = true
            paused = false
            notEmpty.broadcast()
            notFull.broadcast()
        }
    }

    /// Holds the writer (for tests of the queue-full policy).
    func setPaused(_ value: Bool) {
        mutex.withLock {
            paused = value
            notEmpty.broadcast()
        }
    }

    var snapshot: RecorderStatistics { mutex.withLock { statistics } }
}

/// How the recorder kept up.
public struct RecorderStatistics: Hashable, Sendable {
    public var queueCapacity: Int
    public var transactionsEnqueued = 0
    public var faultsEnqueued = 0
    /// Times a producer found the queue full and waited, and for how long in total.
    public var stalls = 0
    public var stallNs: UInt64 = 0
    public var batches = 0
    public var maxBatch = 0
    public var transactionsWritten = 0
    public var faultsWritten = 0
    /// Rows inserted or updated (a transaction's row counts twice: intent and
    /// outcome; schema 8 packs its sections and slot operations into it).
    public var rowsWritten = 0
    /// Items not written because SQLite had failed (close() reports the failure).
    public var lostAfterFailure = 0
    /// Items offered after close(), not written.
    public var lateItems = 0

    public init(queueCapacity: Int) { self.queueCapacity = queueCapacity }
}
