import Memslots
#if canImport(Glibc)
import Glibc
#endif
import Sync

/// Keeps every record and fault a run produces — or, for a run of any length
/// (`record`), only counts them — and forwards them, e.g. to a journal recorder.
public final class RecordCollector: TransactionObserver {
    /// Appended to by the committing thread (records) and vCPU threads (faults);
    /// the lock keeps each append whole and each read a consistent copy.
    private let state = PlainLocked<(records: [TransactionRecord], faults: [SpuriousFault], count: Int)>(([], [], 0))
    private let next: (any TransactionObserver)?
    private let keeping: Bool

    public init(forwardingTo next: (any TransactionObserver)? = nil, keeping: Bool = true) {
        self.next = next
        self.keeping = keeping
    }

    public func transactionCommitted(_ record: TransactionRecord) {
        state.withLock {
            if keeping { $0.records.append(record) }
            $0.count += 1
        }
        next?.transactionCommitted(record)
    }

    public func spuriousFault(_ fault: SpuriousFault) {
        if keeping { state.withLock { $0.faults.append(fault) } }
        next?.spuriousFault(fault)
    }

    /// Says it on standard error at once (the run may hang in the kernel right
    /// after), and passes it on.
    public func drainTimedOut(sequence: UInt64, _ timeout: DrainTimeout) {
        let line = Array("memjournal: transaction \(sequence): \(timeout)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        next?.drainTimedOut(sequence: sequence, timeout)
    }

    /// Empty when not keeping.
    public var records: [TransactionRecord] { state.withLock { $0.records } }
    public var faults: [SpuriousFault] { state.withLock { $0.faults } }
    public var recordCount: Int { state.withLock { $0.count } }
}
