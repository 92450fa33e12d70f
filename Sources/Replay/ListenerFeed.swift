import Memslots
import Sync

/// Fresh memslot listeners on a machine, one per address space, fed recorded
/// listener callbacks one transaction at a time: how replay's sections mode and
/// the history reduction re-derive a transaction's decision and slot operations.
public final class ListenerFeed {
    private let machine: Machine
    private let maxSlotSize: UInt64
    private let inhibit: Bool
    private let collector = LastRecord()
    private var listeners: [UInt16: MemslotListener] = [:]

    /// Keeps the record a listener just produced.
    private final class LastRecord: TransactionObserver {
        /// Written by the listener on the feeding thread, taken by the same thread
        /// right after; the lock only satisfies the observer's thread-safety contract.
        let last = PlainLocked<TransactionRecord?>(nil)
        func transactionCommitted(_ record: TransactionRecord) { last.withLock { $0 = record } }
        func spuriousFault(_ fault: SpuriousFault) {}
        func take() -> TransactionRecord? { last.withLock { r in defer { r = nil }; return r } }
    }

    /// Listeners on `machine`'s backend, blocker and sequencer, with the recording's
    /// slot-size bound and inhibit setting.
    public init(machine: Machine, maxSlotSize: UInt64, inhibit: Bool) {
        self.machine = machine
        self.maxSlotSize = maxSlotSize
        self.inhibit = inhibit
    }

    private func listener(for addressSpace: UInt16) -> MemslotListener {
        if let listener = listeners[addressSpace] { return listener }
        let listener = MemslotListener(
            addressSpace: addressSpace, backend: machine.backend, blocker: machine.blocker,
            sequencer: machine.sequencer, observer: collector, maxSlotSize: maxSlotSize, inhibitOverlapping: inhibit,
            drainTimeoutNs: machine.configuration.drainTimeoutNs)
        listeners[addressSpace] = listener
        return listener
    }

    /// Delivers one transaction's callbacks under the topology lock and returns
    /// what the listener recorded (nil when it committed nothing).
    public func feed(_ sections: [SectionChange], addressSpace: UInt16) -> TransactionRecord? {
        let listener = listener(for: addressSpace)
        machine.topologyLock.withLock {
            listener.begin()
            for change in sections { change.deliver(to: listener) }
            listener.commit()
        }
        return collector.take()
    }

    /// The listener's slot-table digest of one address space.
    public func digest(addressSpace: UInt16) -> SlotTableDigest { listener(for: addressSpace).digest }
}
