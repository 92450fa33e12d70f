#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a pthread reader-writer lock: many concurrent readers (vCPU
/// threads looking up slots), one writer (the thread applying a slot operation).
///
/// `@unchecked Sendable`: `value` is only touched with the lock held — shared for
/// `read`, exclusive for `write` — and the lock lives in heap storage that is
/// allocated in `init` and never moved; `Value` is required to be `Sendable`.
public final class ReadWriteLocked<Value: Sendable>: @unchecked Sendable {
    // The accessors are @inlinable so that callers in other modules (the simulated
    // kernel, the recorder) get them specialized for their value type, as they
    // did when this lived in their module: unspecialized generics cost a third
    // of the simulated backend's throughput.
    @usableFromInline let lock: UnsafeMutablePointer<pthread_rwlock_t>
    @usableFromInline var value: Value

    public init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inlinable
    public func read<R>(_ body: (borrowing Value) throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    @inlinable
    public func write<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
