import Harness

/// How to replay a journal.
public struct ReplayOptions: Sendable, Hashable {
    /// What replay re-applies, and so what it checks.
    public enum Mode: String, Sendable, CaseIterable {
        /// Feed the recorded deletes and adds through a fresh memslot listener and
        /// compare its overlap decision, slot operations and digest with the record:
        /// catches a change in the VMM core's logic.
        case sections
        /// Re-issue the recorded slot operations and compare each errno and the
        /// digest: catches a change in the backend's (or KVM's) behaviour.
        case slotOps = "slot-ops"
    }

    /// Which backend receives the replayed operations.
    public var backend: Backend
    public var mode: Mode
    /// vCPUs touching the memory that stays memory throughout (0: none).
    public var vcpus: Int
    /// Transactions to compare (all of them by default). Earlier transactions are
    /// still applied, unchecked, to reach the state the range starts from.
    public var from: UInt64?
    public var to: UInt64?
    /// Apply every transaction of slot-ops mode under the inhibit, whatever was
    /// recorded (sections mode always follows the listener's own decision).
    public var atomic: Bool
    /// No single transaction may take longer than this; replay never hangs.
    public var deadlineNs: UInt64
    /// Upper bound on the backings a journal may ask for, checked before mapping.
    public var memoryLimit: UInt64
    /// Pause between transactions while vCPUs run, so they get back into
    /// `KVM_RUN` between inhibits instead of starving behind back-to-back ones.
    public var intervalNs: UInt64 = 100_000
    /// Step the simulated vCPUs with this seed instead of running them as
    /// threads: after every slot operation a seeded burst of accesses, so every
    /// replay of a history with a seed sees the same accesses and the same faults
    /// (the simulated backend only; nil: threads).
    public var steppingSeed: UInt64?

    public init(
        backend: Backend = .sim, mode: Mode = .sections, vcpus: Int = 0, from: UInt64? = nil, to: UInt64? = nil,
        atomic: Bool = false, deadlineNs: UInt64 = 30_000_000_000, memoryLimit: UInt64 = 64 << 30
    ) {
        self.backend = backend
        self.mode = mode
        self.vcpus = vcpus
        self.from = from
        self.to = to
        self.atomic = atomic
        self.deadlineNs = deadlineNs
        self.memoryLimit = memoryLimit
    }

    func inRange(_ sequence: UInt64) -> Bool {
        sequence >= (from ?? 0) && sequence <= (to ?? .max)
    }
}
