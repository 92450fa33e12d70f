import Memslots
import Synchronization
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Guarantees that a replay never hangs: if one transaction takes longer than the
/// deadline (a vCPU that never leaves `KVM_RUN`, an ioctl that never returns),
/// it reports which transaction and ends the process with exit code 1 — the only
/// way out of a thread stuck in the kernel.
final class ReplayWatchdog: Sendable {
    /// Sequence being replayed (0: none; `stopping`: vCPUs being stopped) and when
    /// it started. The replaying thread stores `startedNs` first, then `current`
    /// with release; the watchdog loads `current` with acquire, so a sequence it
    /// sees is never paired with an older start time.
    private let current = Atomic<UInt64>(0)
    private let startedNs = Atomic<UInt64>(0)
    /// Stands for "stopping the vCPUs" in `current`.
    static let stoppingVCPUs = UInt64.max
    /// Set once to end the watching thread; relaxed: it is polled, and `join` orders the rest.
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
        current.store(sequence, ordering: .releasing)
    }

    func end() { current.store(0, ordering: .releasing) }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
    }

    private func watch() {
        let period = min(deadlineNs / 4, 100_000_000)
        while !stopping.load(ordering: .relaxed) {
            MonotonicClock.sleep(nanoseconds: period)
            let sequence = current.load(ordering: .acquiring)
            guard sequence != 0 else { continue }
            let elapsed = MonotonicClock.now() &- startedNs.load(ordering: .relaxed)
            if elapsed > deadlineNs, current.load(ordering: .acquiring) == sequence {
                let what = sequence == Self.stoppingVCPUs ? "stopping the vCPUs" : "transaction \(sequence)"
                let message = "memjournal: replay stuck: \(what) did not finish within "
                    + "\(deadlineNs / 1_000_000) ms; divergence kind: timeout\n"
                _ = message.withCString { write(2, $0, strlen($0)) }
                _exit(1)
            }
        }
    }
}
