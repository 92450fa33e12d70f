import Synchronization

/// One thread per vCPU, with the stop protocol both vCPU drivers share: raise the
/// stop flag, wait until every thread has returned — nudging the stragglers
/// (a KVM vCPU must be kicked out of `KVM_RUN`) — and join them.
public final class VCPUThreadGroup: Sendable {
    /// Polled by the threads between runs; relaxed: `join` orders everything after.
    private let stopping = Atomic<Bool>(false)
    /// Threads that have returned; incremented with release as a thread's last
    /// act, loaded with acquire by `stop`.
    private let finished = Atomic<Int>(0)
    /// The running threads, swapped out whole by `stop` so each is joined once.
    private let threads = PlainLocked<[OSThread]>([])

    public init() {}

    /// Whether the threads should return.
    public var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Starts `count` threads running `body(index)`.
    public func start(count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        stopping.store(false, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        let started = (0..<count).map { index in
            OSThread { [self] in
                body(index)
                finished.add(1, ordering: .releasing)
            }
        }
        threads.withLock { $0 = started }
    }

    /// Stops and joins the threads, calling `nudge` every 200 µs until all have returned.
    public func stop(nudge: () -> Void = {}) {
        stopping.store(true, ordering: .relaxed)
        let running = threads.withLock { t -> [OSThread] in defer { t = [] }; return t }
        while finished.load(ordering: .acquiring) < running.count {
            nudge()
            MonotonicClock.sleep(nanoseconds: 200_000)
        }
        for thread in running { thread.join() }
    }
}
