import Synchronization

/// Numbers transactions across all address spaces of a machine and tells vCPU
/// threads which transaction's slot operations are in progress.
public final class TransactionSequencer: Sendable {
    /// Last sequence handed out. Only the committing thread (topology-lock holder)
    /// advances it, so relaxed ordering is enough for uniqueness.
    private let last = Atomic<UInt64>(0)
    /// Sequence whose slot operations are being applied, 0 when none. Set before
    /// the first operation and cleared after the last with release ordering; vCPU
    /// threads read it with acquire when they record a fault.
    private let inFlight = Atomic<UInt64>(0)

    public init(startingAfter sequence: UInt64 = 0) {
        last.store(sequence, ordering: .relaxed)
    }

    func next() -> UInt64 { last.wrappingAdd(1, ordering: .relaxed).newValue }

    func setInFlight(_ sequence: UInt64) { inFlight.store(sequence, ordering: .releasing) }

    public var transactionInFlight: UInt64? {
        let value = inFlight.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }
}
