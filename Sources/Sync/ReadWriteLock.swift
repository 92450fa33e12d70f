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
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public func read<R>(_ body: (borrowing Value) throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    public func write<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
