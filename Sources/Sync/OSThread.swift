#if canImport(Glibc)
import Glibc
#endif

/// A joinable pthread running a closure — for vCPU threads, which must be real
/// OS threads (they block in ioctls and receive kick signals), not tasks.
public final class OSThread: Sendable {
    /// The pthread until it is joined; the lock makes "take it and join" happen
    /// once even if two threads call `join`.
    private let handle: PlainLocked<pthread_t?>

    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread.
    public init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        handle = PlainLocked(thread)
    }

    /// Waits for the thread to finish (once; later calls return at once).
    public func join() {
        guard let thread = handle.withLock({ h -> pthread_t? in defer { h = nil }; return h }) else { return }
        pthread_join(thread, nil)
    }

    /// The pthread id, for signalling the thread (nil once joined).
    public var pthread: pthread_t? { handle.withLock { $0 } }
}
