import MemoryModel
import Memslots

/// How to run a scenario on the simulated backend.
public struct RunConfiguration: Sendable, Hashable {
    public enum VCPUMode: String, Sendable, CaseIterable {
        /// One real thread per vCPU (stress, measurement).
        case threads
        /// Seeded single-threaded stepping between slot operations (reproducible).
        case stepping
    }

    public var scenario: ScenarioKind
    public var options: ScenarioOptions
    public var vcpus: Int
    public var transactions: Int
    public var seed: UInt64
    public var inhibit: Bool
    public var wait: WaitStrategy
    public var vcpuMode: VCPUMode
    /// Simulated duration of each memslot operation.
    public var operationDelayNs: UInt64

    public init(
        scenario: ScenarioKind, options: ScenarioOptions = ScenarioOptions(), vcpus: Int = 2,
        transactions: Int = 100, seed: UInt64 = 1, inhibit: Bool = true, wait: WaitStrategy = .event,
        vcpuMode: VCPUMode = .threads, operationDelayNs: UInt64 = 20_000
    ) {
        self.scenario = scenario
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

/// A scenario on a fresh simulated machine with its vCPUs.
public final class ScenarioRunner {
    public let configuration: RunConfiguration
    public let machine: Machine
    public let scenario: any Scenario
    public let backend: SimulatedBackend
    public let vcpus: SimulatedVCPUs
    public let collector: RecordCollector
    private var rng: SeededRandom
    private var steps = 0

    public init(_ configuration: RunConfiguration, observer: (any TransactionObserver)? = nil) throws {
        self.configuration = configuration
        let delay = configuration.vcpuMode == .stepping ? 0 : configuration.operationDelayNs
        backend = SimulatedBackend(operationDelayNs: delay)
        collector = RecordCollector(forwardingTo: observer)
        scenario = configuration.scenario.make(configuration.options)
        machine = Machine(
            backend: backend,
            configuration: Machine.Configuration(
                vcpus: configuration.vcpus, wait: configuration.wait, inhibit: configuration.inhibit,
                maxSlotSize: scenario.maxSlotSize),
            observer: collector)
        try scenario.build(on: machine)
        vcpus = SimulatedVCPUs(
            count: configuration.vcpus, backend: backend, machine: machine, targets: scenario.vcpuTargets,
            observer: collector)
        rng = SeededRandom(seed: configuration.seed)
    }

    /// Records committed so far (the initial mapping included).
    public var records: [TransactionRecord] { collector.records }

    /// Performs one scenario step.
    public func step() throws {
        try scenario.step(steps, on: machine, rng: &rng)
        steps += 1
        if configuration.vcpuMode == .stepping { vcpus.step() }
    }

    /// Steps until `transactions` more records were committed (or 4× as many steps
    /// produced nothing more), with vCPUs running throughout; `afterStep` sees
    /// each step's index.
    public func run(afterStep: ((Int) throws -> Void)? = nil) throws {
        let target = collector.recordCount + configuration.transactions
        switch configuration.vcpuMode {
        case .threads: vcpus.start()
        case .stepping: vcpus.installStepping(seed: configuration.seed ^ 0x5eed)
        }
        defer { if configuration.vcpuMode == .threads { vcpus.stop() } }
        var budget = configuration.transactions * 4 + 16
        while collector.recordCount < target, budget > 0 {
            try step()
            try afterStep?(steps - 1)
            budget -= 1
        }
    }
}
