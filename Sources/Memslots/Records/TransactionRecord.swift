import MemoryModel

/// Everything about one memory-listener transaction: what changed, what was
/// decided, what was issued and what it cost. The one description of a
/// transaction — produced by the listener, consumed by the journal, replay and
/// the exporters.
public struct TransactionRecord: Hashable, Sendable {
    /// Position in the machine's history, from 1, across all address spaces.
    public var sequence: UInt64
    public var addressSpace: UInt16
    /// CLOCK_MONOTONIC at the listener's begin and at the end of its commit.
    public var beginNs: UInt64
    public var commitNs: UInt64
    /// The listener callbacks, in arrival order.
    public var sections: [SectionChange]
    public var decision: OverlapDecision
    /// The operations issued, in order, with their results.
    public var slotOps: [SlotOperation]
    public var timing: InhibitTiming
    /// The slot table after the transaction.
    public var digest: SlotTableDigest

    public init(
        sequence: UInt64, addressSpace: UInt16, beginNs: UInt64, commitNs: UInt64,
        sections: [SectionChange], decision: OverlapDecision, slotOps: [SlotOperation],
        timing: InhibitTiming, digest: SlotTableDigest
    ) {
        self.sequence = sequence
        self.addressSpace = addressSpace
        self.beginNs = beginNs
        self.commitNs = commitNs
        self.sections = sections
        self.decision = decision
        self.slotOps = slotOps
        self.timing = timing
        self.digest = digest
    }

    public var deletes: [MemorySection] { sections.filter { $0.kind == .delete }.map(\.section) }
    public var adds: [MemorySection] { sections.filter { $0.kind == .add }.map(\.section) }

    /// Operations that failed.
    public var failedOps: [SlotOperation] { slotOps.filter { !$0.succeeded } }

    /// Whether every operation succeeded (the journal's outcome 'ok'), without
    /// listing the failed ones.
    public var succeeded: Bool { slotOps.allSatisfy(\.succeeded) }
}

/// Receives what a running machine produces. Called from the committing thread
/// (transactions) and from vCPU threads (faults), so it must be thread-safe and
/// should return quickly.
public protocol TransactionObserver: Sendable {
    func transactionCommitted(_ record: TransactionRecord)
    func spuriousFault(_ fault: SpuriousFault)
    /// An inhibit gave up waiting at its drain deadline and is about to apply
    /// transaction `sequence` non-atomically — said at once, before the apply,
    /// because on KVM the memslot update itself may then wait in the kernel for
    /// the stuck vCPU (the record with the timeout arrives only when it is done).
    func drainTimedOut(sequence: UInt64, _ timeout: DrainTimeout)
}

extension TransactionObserver {
    public func drainTimedOut(sequence: UInt64, _ timeout: DrainTimeout) {}
}
