/// How an inhibitor waits for in-flight ioctls to finish.
public enum WaitStrategy: String, Sendable, CaseIterable {
    /// Wait on an event that every ioctl end sets (reset, re-check, wait) — the
    /// reviewer's request that upstream adopted.
    case event
    /// The seed's original strategy: re-check and re-kick every 100 µs. Kept only
    /// for side-by-side measurement.
    case spin
}
