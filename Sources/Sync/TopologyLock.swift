import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The lock that serialises memory-topology changes — our equivalent of QEMU's
/// big QEMU lock (BQL). It knows which thread holds it, so that the ioctl blocker
/// can let that thread's own ioctls bypass the inhibit (the inhibitor holds it).
public final class TopologyLock: Sendable {
    /// Serialises topology changes; `owner` is valid only while it is held.
    private let mutex = PlainMutex()
    /// pthread id of the holder, 0 when free. Written only by the holder, right
    /// after acquiring and right before releasing; a thread comparing against its
    /// own id can only see its own id if it is the holder, so relaxed suffices.
    private let owner = Atomic<UInt>(0)

    public init() {}

    public func lock() {
        mutex.lock()
        owner.store(UInt(pthread_self()), ordering: .relaxed)
    }

    public func unlock() {
        owner.store(0, ordering: .relaxed)
        mutex.unlock()
    }

    public var isHeldByCurrentThread: Bool { owner.load(ordering: .relaxed) == UInt(pthread_self()) }

    @inlinable
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}
