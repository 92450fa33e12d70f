#if canImport(Glibc)
import Glibc
#endif

/// A non-recursive, non-priority-inheritance pthread mutex with a monotonic-clock
/// condition variable beside it.
///
/// vCPU threads park here rather than on `Synchronization.Mutex`: that one is a
/// priority-inheritance futex, and on our hosts parking vCPUs on it added
/// milliseconds to every memslot ioctl. A plain mutex/condvar pair parks on an
/// ordinary futex.
///
/// `@unchecked Sendable`: the pthread objects live in heap storage allocated once
/// in `init`, never moved, and freed only in `deinit`, when no thread can hold a
/// reference; pthread mutexes and condition variables are designed to be used
/// from many threads at once.
public final class PlainMutex: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable public func lock() { pthread_mutex_lock(mutex) }
    @inlinable public func unlock() { pthread_mutex_unlock(mutex) }

    @inlinable
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// A condition variable bound to this mutex; waits use the monotonic clock.
    public final class Condition: @unchecked Sendable {
        // Same argument as the enclosing class: stable heap storage, thread-safe pthread object.
        private let cond: UnsafeMutablePointer<pthread_cond_t>

        public init() {
            cond = .allocate(capacity: 1)
            var attr = pthread_condattr_t()
            pthread_condattr_init(&attr)
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
            pthread_cond_init(cond, &attr)
            pthread_condattr_destroy(&attr)
        }

        deinit {
            pthread_cond_destroy(cond)
            cond.deallocate()
        }

        /// Waits until signalled (or spuriously woken); `mutex` must be held.
        public func wait(_ mutex: PlainMutex) { pthread_cond_wait(cond, mutex.mutex) }

        /// Waits at most `nanoseconds`; returns false on timeout. `mutex` must be held.
        @discardableResult
        public func wait(_ mutex: PlainMutex, nanoseconds: UInt64) -> Bool {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let total = UInt64(deadline.tv_nsec) + nanoseconds
            deadline.tv_sec += Int(total / 1_000_000_000)
            deadline.tv_nsec = Int(total % 1_000_000_000)
            return pthread_cond_timedwait(cond, mutex.mutex, &deadline) == 0
        }

        public func signal() { pthread_cond_signal(cond) }
        public func broadcast() { pthread_cond_broadcast(cond) }
    }
}

/// A value guarded by a `PlainMutex`, for state that vCPU threads touch.
///
/// `@unchecked Sendable`: `value` is only reachable inside `withLock`, which holds
/// the mutex for the whole access; `Value` is `Sendable`.
public final class PlainLocked<Value: Sendable>: @unchecked Sendable {
    // The accessors are @inlinable so that callers in other modules (the simulated
    // kernel, the recorder) get them specialized for their value type, as they
    // did when this lived in their module: unspecialized generics cost a third
    // of the simulated backend's throughput.
    @usableFromInline let mutex = PlainMutex()
    @usableFromInline var value: Value

    public init(_ value: Value) { self.value = value }

    @inlinable
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
    }
}
