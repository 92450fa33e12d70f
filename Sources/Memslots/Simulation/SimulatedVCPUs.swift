import MemoryModel
import Synchronization
import Sync

/// A guest address a vCPU keeps touching.
public struct VCPUTarget: Hashable, Sendable {
    public var addressSpace: UInt16
    public var gpa: UInt64
    /// Whether accesses alternate read and write (false: reads only, e.g. ROM).
    public var writes: Bool

    public init(addressSpace: UInt16 = 0, gpa: UInt64, writes: Bool = true) {
        self.addressSpace = addressSpace
        self.gpa = gpa
        self.writes = writes
    }
}

/// What simulated vCPUs saw.
public struct VCPUStatistics: Hashable, Sendable {
    public var accesses: Int
    public var spuriousFaults: Int
    /// Exits at addresses that are MMIO in the committed view (not faults).
    public var mmioExits: Int
    /// Steps in which a vCPU could not enter because an inhibit was in progress.
    public var blockedEntries: Int

    public init(accesses: Int, spuriousFaults: Int, mmioExits: Int, blockedEntries: Int) {
        self.accesses = accesses
        self.spuriousFaults = spuriousFaults
        self.mmioExits = mmioExits
        self.blockedEntries = blockedEntries
    }
}

/// Simulated vCPUs over the simulated backend: each "`KVM_RUN`" enters through the
/// blocker and touches guest addresses until it is kicked. An access that no
/// installed slot can serve while the committed view says memory is a spurious
/// fault, reported to the observer.
///
/// Two ways to run them:
/// - **threads** (`start`/`stop`): real concurrency, for stress and measurement;
/// - **stepping** (`installStepping`): no threads; after every slot operation a
///   seeded generator decides which vCPUs make an access, so an access can fall
///   between any two operations and every run of a seed is identical.
public final class SimulatedVCPUs: VCPUDriver, VCPUKicker {
    public let count: Int
    private let backend: SimulatedBackend
    private let blocker: IoctlBlocker
    private let map: CommittedMemoryMap
    private let sequencer: TransactionSequencer
    private let observer: (any TransactionObserver)?
    private let targets: [VCPUTarget]

    /// Per-vCPU kick request (the simulated `immediate_exit`): set by the
    /// inhibitor, cleared by the vCPU before it enters; relaxed is enough because
    /// the blocker's counters carry the ordering that matters.
    private let kicks: [Kick]
    private final class Kick: Sendable {
        let requested = Atomic<Bool>(false)
    }
    /// Statistics counters; relaxed, they are only summed after the threads stop.
    private let accesses = Atomic<Int>(0)
    private let faults = Atomic<Int>(0)
    private let mmioExits = Atomic<Int>(0)
    private let blocked = Atomic<Int>(0)
    private let threads = VCPUThreadGroup()
    /// The stepping generator; taken by the single thread that drives the machine.
    private let stepper = PlainLocked<SeededRandom?>(nil)

    /// Accesses per simulated `KVM_RUN` before the vCPU exits on its own.
    private static let accessesPerRun = 256

    public init(
        count: Int, backend: SimulatedBackend, machine: Machine, targets: [VCPUTarget],
        observer: (any TransactionObserver)?
    ) {
        precondition(count == machine.blocker.vcpuCount, "one simulated vCPU per blocker counter")
        self.count = count
        self.backend = backend
        blocker = machine.blocker
        map = machine.committedMap
        sequencer = machine.sequencer
        self.observer = observer
        self.targets = targets
        kicks = (0..<count).map { _ in Kick() }
        machine.blocker.setKicker(self)
    }

    public func kick(vcpu: Int) { kicks[vcpu].requested.store(true, ordering: .relaxed) }

    public var statistics: VCPUStatistics {
        VCPUStatistics(
            accesses: accesses.load(ordering: .relaxed), spuriousFaults: faults.load(ordering: .relaxed),
            mmioExits: mmioExits.load(ordering: .relaxed), blockedEntries: blocked.load(ordering: .relaxed))
    }

    /// One access by `vcpu` to target number `n`.
    private func touch(vcpu: Int, n: Int) {
        guard !targets.isEmpty else { return }
        let target = targets[(n &+ vcpu &* 7) % targets.count]
        let isWrite = target.writes && n & 1 == 1
        accesses.add(1, ordering: .relaxed)
        guard backend.access(addressSpace: target.addressSpace, gpa: target.gpa, isWrite: isWrite) == .mmioExit
        else { return }
        if map.isMemory(gpa: target.gpa, addressSpace: target.addressSpace, isWrite: isWrite) {
            faults.add(1, ordering: .relaxed)
            observer?.spuriousFault(SpuriousFault(
                vcpu: vcpu, gpa: target.gpa, isWrite: isWrite, timeNs: MonotonicClock.now(),
                transactionInFlight: sequencer.transactionInFlight))
        } else {
            mmioExits.add(1, ordering: .relaxed)
        }
    }

    // MARK: Threads

    /// Starts one thread per vCPU.
    public func start() {
        threads.start(count: count) { [self] vcpu in run(vcpu: vcpu) }
    }

    /// Stops and joins the threads (each checks the stop flag between accesses).
    public func stop() { threads.stop() }

    private func run(vcpu: Int) {
        var n = vcpu
        let kick = kicks[vcpu]
        while !threads.isStopping {
            // Clear before entering: a kick that lands after this point ends the run.
            kick.requested.store(false, ordering: .relaxed)
            blocker.beginVCPU(vcpu)
            for _ in 0..<Self.accessesPerRun {
                if kick.requested.load(ordering: .relaxed) || threads.isStopping { break }
                touch(vcpu: vcpu, n: n)
                n &+= 1
            }
            blocker.endVCPU(vcpu)
        }
    }

    // MARK: Stepping

    /// Makes the backend run a seeded burst of single accesses after every slot
    /// operation (and `step` may be called between transactions).
    public func installStepping(seed: UInt64) {
        stepper.withLock { $0 = SeededRandom(seed: seed) }
        // Weak: the backend outlives nothing here, and a strong capture would make
        // vCPUs and backend keep each other (and every record) alive.
        backend.setInterleaver { [weak self] in self?.step() }
    }

    /// A seeded burst of 0–2 accesses, each by a seeded vCPU entering through the
    /// blocker (refused, and counted as blocked, while an inhibit is in progress).
    public func step() {
        stepper.withLock { rng in
            guard var generator = rng else { return }
            defer { rng = generator }
            let burst = Int(generator.next() % 3)
            for _ in 0..<burst {
                let vcpu = Int(generator.next() % UInt64(count))
                let n = Int(truncatingIfNeeded: generator.next() >> 1)
                guard blocker.tryBeginSteppedVCPU(vcpu) else {
                    blocked.add(1, ordering: .relaxed)
                    continue
                }
                touch(vcpu: vcpu, n: n)
                blocker.endSteppedVCPU(vcpu)
            }
        }
    }
}
