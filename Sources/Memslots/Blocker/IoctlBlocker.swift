import Synchronization
import Sync

/// Something that can force a vCPU out of `KVM_RUN` (a signal plus
/// `immediate_exit` on KVM, a flag on the simulated backend).
public protocol VCPUKicker: AnyObject, Sendable {
    func kick(vcpu: Int)
}

/// The accelerator blocker: lets an inhibitor stop all vCPU and VM ioctls so that
/// a batch of memslot changes looks atomic to running vCPUs.
///
/// Every vCPU ioctl (`KVM_RUN`) is bracketed by `beginVCPU`/`endVCPU`, every VM
/// ioctl made outside the topology lock by `beginVM`/`endVM`. `inhibitBegin` locks
/// all counters, kicks the vCPUs that are inside an ioctl and waits until none is;
/// `inhibitEnd` lets them in again. A thread that holds the topology lock (the
/// inhibitor itself) bypasses the counters, as QEMU's BQL holder does.
///
/// The caller's topology-lock state must not change between a begin and its end.
public final class IoctlBlocker: Sendable {
    public let vcpuCount: Int
    public let strategy: WaitStrategy
    /// One lock-count per vCPU (only that vCPU's thread enters it) and one for VM
    /// ioctls; each keeps its own invariant (see `LockCount`).
    private let vcpus: [LockCount]
    private let vm = LockCount()
    /// Every ioctl in flight on any counter, plus each thread refused by one
    /// until it backs out; locked while an inhibitor drains. An ioctl counts
    /// here before its own counter admits it and stops after its counter lets
    /// it go, so this is never below the counters' sum: 0 here means no ioctl
    /// in flight. The leaver that brings it to 0 while it is locked is the one
    /// that wakes the inhibitor — one gate section per drain, not one per vCPU.
    private let total = LockCount()
    private let topologyLock: TopologyLock?
    /// Guards `quiesced`: held by an inhibitor between re-checking the total and
    /// waiting, and passed through by the last leaver before it signals, so a
    /// wake-up cannot fall between the check and the wait.
    private let gate = PlainMutex()
    /// Signalled when the last ioctl in flight ends while locked (the inhibitor's event).
    private let quiesced = PlainMutex.Condition()
    /// Guards `released` the same way: held by a thread refused an increment
    /// between its check of the counter and its wait, and by the inhibitor to
    /// broadcast. Not the gate: a vCPU parking right after it left would
    /// otherwise hold the gate the woken inhibitor must take back.
    private let parking = PlainMutex()
    /// Broadcast when the inhibit ends (threads refused an increment wait here).
    private let released = PlainMutex.Condition()
    /// Serialises inhibitors: the counters have one lock bit, so one inhibitor at a time.
    private let inhibitors = PlainMutex()
    /// Who to kick. Set once the vCPUs exist; read by the inhibitor only. Held
    /// weakly: the vCPUs hold the blocker, and a strong reference back would keep
    /// both — and a KVM VM with its memory — alive forever.
    private let kicker = Mutex<WeakKicker>(WeakKicker(nil))

    private struct WeakKicker: Sendable {
        weak var kicker: (any VCPUKicker)?
        init(_ kicker: (any VCPUKicker)?) { self.kicker = kicker }
    }

    /// A fallback re-kick period while waiting on the event: a kick is idempotent,
    /// and re-sending it bounds the cost of a kick that raced with a vCPU entering
    /// `KVM_RUN` without `immediate_exit` support. It is not a poll: the event
    /// wakes the inhibitor as soon as the last ioctl ends.
    private static let rekickNs: UInt64 = 20_000_000
    /// The seed's spin period.
    private static let spinSleepNs: UInt64 = 100_000

    public init(vcpus: Int, strategy: WaitStrategy = .event, topologyLock: TopologyLock? = nil) {
        vcpuCount = vcpus
        self.strategy = strategy
        self.vcpus = (0..<vcpus).map { _ in LockCount() }
        self.topologyLock = topologyLock
    }

    public func setKicker(_ kicker: any VCPUKicker) {
        self.kicker.withLock { $0 = WeakKicker(kicker) }
    }

    private var bypass: Bool { topologyLock?.isHeldByCurrentThread ?? false }

    // MARK: ioctl side

    /// Enters a vCPU ioctl, waiting while an inhibit is in progress.
    public func beginVCPU(_ index: Int) {
        guard !bypass else { return }
        enter(vcpus[index])
    }

    /// Enters a vCPU ioctl for a simulated vCPU stepped on the driving thread:
    /// refused (rather than waiting, which would never end) while an inhibit is in
    /// progress, and never bypassed — the stepped vCPU stands for another thread
    /// even though the topology-lock holder runs it. Pair with `endSteppedVCPU`.
    public func tryBeginSteppedVCPU(_ index: Int) -> Bool {
        total.increment()
        guard vcpus[index].tryIncrement() else {
            uncount()
            return false
        }
        return true
    }

    public func endSteppedVCPU(_ index: Int) {
        leave(vcpus[index])
    }

    public func endVCPU(_ index: Int) {
        guard !bypass else { return }
        leave(vcpus[index])
    }

    public func beginVM() {
        guard !bypass else { return }
        enter(vm)
    }

    public func endVM() {
        guard !bypass else { return }
        leave(vm)
    }

    /// Runs `body` as a VM ioctl.
    public func withVMIoctl<R>(_ body: () throws -> R) rethrows -> R {
        beginVM()
        defer { endVM() }
        return try body()
    }

    private func enter(_ counter: LockCount) {
        while true {
            // Parked before counting while an inhibit visibly holds the counter:
            // a kicked vCPU coming straight back would otherwise count itself
            // in the total its inhibitor waits to see at 0, and on backing out
            // be its last leaver a second time (the gate and a signal again).
            if counter.isBlocking { park(counter) }
            // The total first: an ioctl admitted by its counter is already in the total.
            total.increment()
            if counter.tryIncrement() { return }
            uncount()
        }
    }

    /// Waits while `counter` refuses increments: until the inhibit that holds it ends.
    private func park(_ counter: LockCount) {
        parking.lock()
        while counter.isBlocking { released.wait(parking) }
        parking.unlock()
    }

    private func leave(_ counter: LockCount) {
        // The counter first: the total stays above it until the ioctl is out of both.
        counter.decrement()
        uncount()
    }

    /// Takes one from the total; the thread that leaves it at 0 while an
    /// inhibitor drains wakes it. The decision is one atomic step (the count
    /// and the lock bit share a word), so of all leavers exactly the last one
    /// after the lock takes it. Passing through the gate before the signal
    /// keeps it from being lost: an inhibitor that checked the total before we
    /// took the gate holds the gate from its check into its wait, and one that
    /// checks after our decrement sees 0 and does not wait. The signal goes
    /// after the gate is free, so the woken inhibitor does not find it still
    /// held and sleep again on it; one that arrives after the inhibitor stopped
    /// waiting is a spurious wake-up for a later wait, which checks again.
    private func uncount() {
        if total.decrement() {
            gate.withLock {}
            quiesced.signal()
        }
    }

    // MARK: inhibitor side

    /// Proof of an inhibit in progress, returned by `inhibitBegin`.
    public struct Inhibit: Sendable {
        let startNs: UInt64
        public let drainNs: UInt64
        public let vcpusKicked: Int
        /// Set when the drain gave up at its deadline: what was still in flight.
        public let drainTimeout: DrainTimeout?
    }

    /// Blocks new ioctls, kicks the vCPUs inside one, and waits until none is in
    /// flight — or, with `drainDeadlineNs`, until that long has passed. Past the
    /// deadline it stops waiting and `Inhibit.drainTimeout` names the vCPUs and the
    /// VM ioctls its last check found inside; what the caller then applies is not
    /// atomic for them. The counters stay locked: a vCPU that was out stays out,
    /// but a counter with an ioctl still in flight admits more (lock-count
    /// semantics), so further VM ioctls may join a stuck one.
    /// Without a deadline, a vCPU that never leaves (blocked in the kernel on a
    /// userfault that only the topology-lock holder can serve) makes this wait
    /// forever — the case QEMU's blocker leaves unsolved.
    public func inhibitBegin(drainDeadlineNs: UInt64? = nil) -> Inhibit {
        inhibitors.lock()
        // Made before the clock starts and the counters lock, so that no vCPU
        // is held out while they are: the kicks go out one after another.
        let kicker = self.kicker.withLock { $0.kicker }
        var kicked = [Bool](repeating: false, count: vcpuCount)
        var busyVCPUs: [Int] = []
        busyVCPUs.reserveCapacity(vcpuCount)
        let start = MonotonicClock.now()
        let deadline = drainDeadlineNs.map { start.addingReportingOverflow($0).overflow ? UInt64.max : start + $0 }
        // The total first, so that the last leaver of this drain finds it locked.
        if strategy == .event { total.lock() }
        for counter in vcpus { counter.lock() }
        vm.lock()
        var busyVM: UInt64 = 0
        // Notes every vCPU still inside an ioctl and the VM ioctls in flight, kicking
        // those vCPUs when `kicking`; true when anything is in flight.
        func scanBusy(kicking: Bool) -> Bool {
            busyVCPUs.removeAll(keepingCapacity: true)
            for (index, counter) in vcpus.enumerated() where counter.count != 0 {
                busyVCPUs.append(index)
                if kicking {
                    kicked[index] = true
                    kicker?.kick(vcpu: index)
                }
            }
            busyVM = vm.count
            return !busyVCPUs.isEmpty || busyVM != 0
        }
        var timedOut = false
        switch strategy {
        case .event:
            // The first kicks go out before the gate is taken: the last kicked vCPU
            // to leave passes through the gate to wake us, and would otherwise find
            // it held and sleep until our wait released it — a second wake-up per drain.
            _ = scanBusy(kicking: true)
            gate.lock()
            // Checked under the gate, so the last leaver's signal cannot fall
            // between this check and the wait.
            while total.count != 0 {
                let now = MonotonicClock.now()
                if let deadline, now >= deadline {
                    // What is still inside, for the drain timeout.
                    timedOut = scanBusy(kicking: false)
                    break
                }
                let signalled = quiesced.wait(
                    gate, nanoseconds: deadline.map { min(Self.rekickNs, $0 - now) } ?? Self.rekickNs)
                // Kicked again only when the period passed without a signal; a
                // wake-up re-checks without re-kicking the vCPUs already leaving.
                if !signalled { _ = scanBusy(kicking: true) }
            }
            gate.unlock()
            total.unlock()
        case .spin:
            while scanBusy(kicking: true) {
                if let deadline, MonotonicClock.now() >= deadline {
                    timedOut = true
                    break
                }
                MonotonicClock.sleep(nanoseconds: Self.spinSleepNs)
            }
        }
        let timeout = timedOut ? DrainTimeout(vcpus: busyVCPUs, vmIoctls: Int(clamping: busyVM)) : nil
        return Inhibit(startNs: start, drainNs: MonotonicClock.now() - start, vcpusKicked: kicked.filter { $0 }.count,
                       drainTimeout: timeout)
    }

    /// Lets ioctls in again; returns the inhibit's duration in nanoseconds, from
    /// locking the counters to unlocking them. Waking the parked vCPUs comes after
    /// the measurement: with more runnable threads than cores, the woken vCPUs can
    /// preempt the inhibitor for a scheduler tick, which is not inhibit time.
    @discardableResult
    public func inhibitEnd(_ inhibit: Inhibit) -> UInt64 {
        vm.unlock()
        for counter in vcpus { counter.unlock() }
        let elapsed = MonotonicClock.now() - inhibit.startNs
        parking.withLock { released.broadcast() }
        inhibitors.unlock()
        return elapsed
    }

    /// Ioctls in flight now (for tests and diagnostics).
    public var inFlight: (vcpus: [UInt64], vm: UInt64) { (vcpus.map(\.count), vm.count) }
}
