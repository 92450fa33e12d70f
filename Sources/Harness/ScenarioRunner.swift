import KVMBackend
import MemoryModel
import Memslots
import Scenarios
import Sync

/// How to run a scenario on the simulated backend.
public struct RunConfiguration: Sendable, Hashable {
    public enum VCPUMode: String, Sendable, CaseIterable {
        /// One real thread per vCPU (stress, measurement).
        case threads
        /// Seeded single-threaded stepping between slot operations (reproducible).
        case stepping
    }

    public var scenario: ScenarioKind
    public var backend: Backend
    public var options: ScenarioOptions
    public var vcpus: Int
    public var transactions: Int
    public var seed: UInt64
    public var inhibit: Bool
    public var wait: WaitStrategy
    public var vcpuMode: VCPUMode
    /// Simulated duration of each memslot operation.
    public var operationDelayNs: UInt64
    /// Pause between transactions in threaded mode, so vCPUs are back inside
    /// `KVM_RUN` when the next inhibit kicks them (0: back to back).
    public var intervalNs: UInt64 = 0
    /// Stop after this long even if fewer transactions were committed (nil: no limit).
    public var durationNs: UInt64?
    /// How long an inhibit waits for ioctls in flight (nil: forever).
    public var drainTimeoutNs: UInt64? = Machine.Configuration.defaultDrainTimeoutNs

    public init(
        scenario: ScenarioKind, backend: Backend = .sim, options: ScenarioOptions = ScenarioOptions(), vcpus: Int = 2,
        transactions: Int = 100, seed: UInt64 = 1, inhibit: Bool = true, wait: WaitStrategy = .event,
        vcpuMode: VCPUMode = .threads, operationDelayNs: UInt64 = 20_000
    ) {
        self.scenario = scenario
        self.backend = backend
        self.options = options
        self.vcpus = vcpus
        self.transactions = transactions
        self.seed = seed
        self.inhibit = inhibit
        self.wait = wait
        self.vcpuMode = vcpuMode
        self.operationDelayNs = operationDelayNs
    }
}

/// A scenario on a fresh machine (simulated or KVM) with its vCPUs.
public final class ScenarioRunner {
    public let configuration: RunConfiguration
    public let machine: Machine
    public let scenario: any Scenario
    public let vcpus: any VCPUDriver
    /// The simulated vCPUs, which alone can be stepped.
    private let simulated: SimulatedVCPUs?
    public let collector: RecordCollector
    private var rng: SeededRandom
    private var steps = 0

    /// A fresh backend of the configured kind (a new VM on KVM).
    public static func makeBackend(for configuration: RunConfiguration) throws(HarnessError) -> any MemslotBackend {
        if configuration.backend == .kvm && configuration.vcpuMode != .threads { throw .steppingNeedsSimulation }
        return try configuration.backend.make(
            operationDelayNs: configuration.vcpuMode == .stepping ? 0 : configuration.operationDelayNs)
    }

    /// Builds the configured scenario on `backend` (or a fresh one from `makeBackend`).
    public convenience init(
        _ configuration: RunConfiguration, backend: (any MemslotBackend)? = nil,
        observer: (any TransactionObserver)? = nil
    ) throws {
        try self.init(configuration, scenario: configuration.scenario.make(configuration.options), backend: backend,
                      observer: observer)
    }

    /// Builds `scenario` (e.g. a fixture case) instead of the configured kind.
    /// `keepingRecords`: false for a run of any length whose records go only to
    /// `observer` (then `records` stays empty and memory does not grow with the run).
    public init(
        _ configuration: RunConfiguration, scenario: any Scenario, backend: (any MemslotBackend)? = nil,
        observer: (any TransactionObserver)? = nil, keepingRecords: Bool = true
    ) throws {
        try VCPULimit.check(configuration.vcpus)
        self.configuration = configuration
        let backend = try backend ?? Self.makeBackend(for: configuration)
        let collector = RecordCollector(forwardingTo: observer, keeping: keepingRecords)
        self.collector = collector
        self.scenario = scenario
        let machine = Machine(
            backend: backend,
            configuration: Machine.Configuration(
                vcpus: configuration.vcpus, wait: configuration.wait, inhibit: configuration.inhibit,
                maxSlotSize: scenario.maxSlotSize, drainTimeoutNs: configuration.drainTimeoutNs),
            observer: collector)
        self.machine = machine
        try scenario.build(on: machine)
        vcpus = try makeVCPUs(count: configuration.vcpus, machine: machine, targets: scenario.vcpuTargets,
                              observer: collector) { _ in try KVMVCPUs.attachGuestCode(to: machine) }
        simulated = vcpus as? SimulatedVCPUs
        rng = SeededRandom(seed: configuration.seed)
    }

    /// Records committed so far (the initial mapping included).
    public var records: [TransactionRecord] { collector.records }

    /// Performs one scenario step.
    public func step() throws {
        try scenario.step(steps, on: machine, rng: &rng)
        steps += 1
        simulated?.step()
    }

    /// Steps until `transactions` more records were committed (or 4× as many steps
    /// produced nothing more), with vCPUs running throughout; `afterStep` sees
    /// each step's index.
    public func run(afterStep: ((Int) throws -> Void)? = nil) throws {
        let target = collector.recordCount + configuration.transactions
        let deadline = configuration.durationNs.map { MonotonicClock.now() + $0 }
        let threaded = configuration.vcpuMode == .threads
        if threaded { vcpus.start() } else { simulated?.installStepping(seed: configuration.seed ^ 0x5eed) }
        defer { if threaded { vcpus.stop() } }
        var budget = configuration.transactions * 4 + 16
        while collector.recordCount < target, budget > 0, deadline.map({ MonotonicClock.now() < $0 }) ?? true {
            try step()
            try afterStep?(steps - 1)
            if threaded { MonotonicClock.sleep(nanoseconds: configuration.intervalNs) }
            budget -= 1
        }
    }
}
