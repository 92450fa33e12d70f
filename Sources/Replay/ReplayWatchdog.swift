import Memslots
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Guarantees that a replay never hangs: if one transaction takes longer than the
/// deadline (a vCPU that never leaves `KVM_RUN`, an ioctl that never returns),
/// it reports which transaction and ends the process with exit code 1 — the only
/// way out of a thread stuck in the kernel.
final class ReplayWatchdog: Sendable {
    /// Sequence being replayed (0: none) and when it started; written by the
    /// replaying thread, read by the watchdog. Relaxed: a stale read only delays
    /// the verdict by one period.
    private let current = Atomic<UInt64>(0)
    private let startedNs = Atomic<UInt64>(0)
    private let stopping = Atomic<Bool>(false)
    private let deadlineNs: UInt64
    /// The watching thread, set once in `init` and joined in `stop`.
    private let thread: PlainLocked<OSThread?> = PlainLocked(nil)

    init(deadlineNs: UInt64) {
        self.deadlineNs = deadlineNs
        let watcher = OSThread { [self] in watch() }
        thread.withLock { $0 = watcher }
    }

    func begin(_ sequence: UInt64) {
        startedNs.store(MonotonicClock.now(), ordering: .relaxed)
        current.store(sequence, ordering: .relaxed)
    }

    func end() { current.store(0, ordering: .relaxed) }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
    }

    private func watch() {
        let period = min(deadlineNs / 4, 100_000_000)
        while !stopping.load(ordering: .relaxed) {
            MonotonicClock.sleep(nanoseconds: period)
            let sequence = current.load(ordering: .relaxed)
            guard sequence != 0 else { continue }
            let elapsed = MonotonicClock.now() &- startedNs.load(ordering: .relaxed)
            if elapsed > deadlineNs, current.load(ordering: .relaxed) == sequence {
                let message = "memjournal: replay stuck: transaction \(sequence) did not finish within "
                    + "\(deadlineNs / 1_000_000) ms; divergence kind: timeout\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                _exit(1)
            }
        }
    }
}
