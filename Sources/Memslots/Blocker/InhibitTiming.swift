/// What one inhibit cost, as recorded with each transaction.
public struct InhibitTiming: Hashable, Sendable {
    /// Whether ioctls were inhibited at all.
    public var inhibited: Bool
    /// Kick to quiescence: from locking the counters until no ioctl was in flight.
    public var drainNs: UInt64
    /// The critical section: applying the deletes and adds.
    public var applyNs: UInt64
    /// From locking the counters until they were released.
    public var inhibitNs: UInt64
    /// Distinct vCPUs kicked out of `KVM_RUN`.
    public var vcpusKicked: Int
    /// Set when the drain gave up at its deadline and the apply was not atomic.
    public var drainTimeout: DrainTimeout?

    public init(inhibited: Bool, drainNs: UInt64, applyNs: UInt64, inhibitNs: UInt64, vcpusKicked: Int,
                drainTimeout: DrainTimeout? = nil) {
        self.inhibited = inhibited
        self.drainNs = drainNs
        self.applyNs = applyNs
        self.inhibitNs = inhibitNs
        self.vcpusKicked = vcpusKicked
        self.drainTimeout = drainTimeout
    }

    public static func notInhibited(applyNs: UInt64) -> InhibitTiming {
        InhibitTiming(inhibited: false, drainNs: 0, applyNs: applyNs, inhibitNs: 0, vcpusKicked: 0)
    }
}
