import Synchronization

/// A counter of ioctls in flight plus a lock bit, in one atomic word — the
/// semantics of QEMU's `QemuLockCnt` as the accelerator blocker uses it.
///
/// An increment succeeds at once while the count is non-zero (a thread already
/// inside may nest) or while the lock is free; it is refused only while the lock
/// is held *and* the count is 0. Keeping both in one word makes "lock, then read
/// the count" and "increment unless locked at zero" a single modification order:
/// once `lock()` returns, no 0→1 increment can succeed.
final class LockCount: Sendable {
    private static let lockedBit: UInt64 = 1 << 63

    /// Bit 63: locked; bits 0–62: ioctls in flight.
    /// Orderings: successful increments acquire (the caller then sees every slot
    /// change published before the matching unlock) and release (an inhibitor
    /// whose lock follows one sees what the thread did before it: its count in
    /// the blocker's total); decrements release (the inhibitor that observes zero
    /// sees everything the ioctl did); lock/unlock are read-modify-writes that
    /// acquire and release.
    private let state = Atomic<UInt64>(0)

    init() {}

    /// Counts one more ioctl in flight unless an inhibitor holds the lock at count 0.
    func tryIncrement() -> Bool {
        // Relaxed: only the compare-exchange's guess; the exchange that succeeds
        // carries the ordering, and a failed one just retries with what it saw.
        var current = state.load(ordering: .relaxed)
        while true {
            let count = current & ~Self.lockedBit
            if count == 0 && current & Self.lockedBit != 0 { return false }
            let (exchanged, original) = state.compareExchange(
                expected: current, desired: current + 1,
                successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Counts one more whatever the lock says (the blocker's total: it only
    /// counts, refusing is the per-counter words' job).
    /// Acquiring pairs with `lock`/`unlock`'s release. No release is needed here:
    /// the caller's `tryIncrement` on its own counter follows in program order and
    /// releases, which publishes this increment to an inhibitor that locks that
    /// counter afterwards.
    func increment() { state.wrappingAdd(1, ordering: .acquiring) }

    /// Counts one ioctl finished. Returns true when this made the count 0 while an
    /// inhibitor holds the lock — the inhibitor must then be woken.
    @discardableResult
    func decrement() -> Bool {
        let new = state.wrappingSubtract(1, ordering: .releasing).newValue
        return new == Self.lockedBit
    }

    func lock() { state.bitwiseOr(Self.lockedBit, ordering: .acquiringAndReleasing) }

    func unlock() { state.bitwiseAnd(~Self.lockedBit, ordering: .acquiringAndReleasing) }

    /// Ioctls in flight now. Acquiring pairs with `decrement`'s release: an
    /// inhibitor that reads 0 sees everything the finished ioctls did.
    var count: UInt64 { state.load(ordering: .acquiring) & ~Self.lockedBit }

    /// Whether an increment would be refused now: only a hint to park before
    /// trying. Acquiring pairs with `lock`/`unlock`'s release; what orders the
    /// slot changes for the thread that goes on is its `tryIncrement`'s acquire.
    var isBlocking: Bool { state.load(ordering: .acquiring) == Self.lockedBit }
}
