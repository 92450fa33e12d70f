import JSON
import ArgumentParser
import Memslots
import Scenarios
import Harness
import JournalStore

extension ScenarioKind: ExpressibleByArgument {}
extension WaitStrategy: ExpressibleByArgument {}
extension RunConfiguration.VCPUMode: ExpressibleByArgument {}
extension Backend: ExpressibleByArgument {}

/// Options that describe a scenario run, shared by `record` and `demo`.
struct RunOptions: ParsableArguments {
    @Option(help: "Scenario: \(ScenarioKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: ScenarioKind = .pam

    @Option(help: "Backend: sim (simulated KVM) or kvm (a real VM from /dev/kvm).")
    var backend: Backend = .sim

    @Option(help: "Number of vCPUs touching memory while the topology changes.")
    var vcpus: Int = 2

    @Option(help: "Transactions to record.")
    var transactions: Int = 1000

    @Option(help: "Seed for the scenario's choices and for vCPU stepping.")
    var seed: UInt64 = 1

    @Flag(help: "Apply overlapping transactions without inhibiting ioctls (reproduces the bug).")
    var noInhibit = false

    @Option(help: "How the inhibitor waits: event, or the seed's spin with 100 µs sleeps.")
    var wait: WaitStrategy = .event

    @Option(help: "Simulated vCPUs: threads, or deterministic seeded stepping.")
    var vcpuMode: RunConfiguration.VCPUMode = .threads

    @Option(help: "Guest RAM size in MiB.")
    var memory: UInt64 = 128

    @Option(help: "Slots for the scale scenario.")
    var slots: Int = 4096

    @Option(help: "Stop after this many seconds even if fewer transactions were recorded.")
    var duration: Double?

    @Option(help: ArgumentHelp(
        "Seconds an inhibit waits for vCPUs to leave KVM_RUN (0: forever).",
        discussion: "Past it the transaction is applied non-atomically and a drain timeout naming the vCPUs is journaled."))
    var drainTimeout: Double = Double(Machine.Configuration.defaultDrainTimeoutNs) / 1e9

    @Option(help: "Simulated duration of one memslot operation, in µs.")
    var opDelayUs: UInt64 = 20

    @Option(help: "Pause between transactions in µs, so vCPUs are running when the next one kicks them.")
    var intervalUs: UInt64 = 100

    func validate() throws {
        if backend == .kvm && vcpuMode == .stepping {
            throw ValidationError("--vcpu-mode stepping needs --backend sim: real vCPUs cannot be stepped")
        }
        do { try VCPULimit.check(vcpus) } catch { throw ValidationError(error.description) }
        guard transactions >= 1 else { throw ValidationError("--transactions must be at least 1") }
        if let duration, !(duration > 0 && duration <= 86_400) {
            throw ValidationError("--duration must be between 0 and 86400 seconds")
        }
        guard drainTimeout == 0 || (drainTimeout >= 0.001 && drainTimeout <= 86_400) else {
            throw ValidationError("--drain-timeout must be 0 (wait forever) or between 0.001 and 86400 seconds")
        }
        guard (1...(1 << 20)).contains(memory) else { throw ValidationError("--memory must be 1 MiB to 1 TiB") }
        guard (2...32_700).contains(slots) else { throw ValidationError("--slots must be 2 to 32,700") }
    }

    var configuration: RunConfiguration {
        var configuration = RunConfiguration(
            scenario: scenario, backend: backend, options: ScenarioOptions(memory: memory << 20, slots: slots), vcpus: vcpus,
            transactions: transactions, seed: seed, inhibit: !noInhibit, wait: wait, vcpuMode: vcpuMode,
            operationDelayNs: opDelayUs * 1000)
        configuration.intervalNs = intervalUs * 1000
        configuration.durationNs = duration.map { UInt64($0 * 1e9) }
        configuration.drainTimeoutNs = drainTimeout == 0 ? nil : UInt64(drainTimeout * 1e9)
        return configuration
    }
}

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a scenario and report its transactions, inhibits and spurious faults.",
        discussion: "Example: memjournal record --scenario split --vcpus 2 --transactions 1000 --no-inhibit"
    )

    @OptionGroup var options: RunOptions
    @Flag(help: "Print the summary as JSON.") var json = false
    @Option(name: .shortAndLong, help: "Write a journal to this file (never overwritten).") var output: String?
    @Option(help: "Journal durability: normal (survives a crash of this process) or full (also a host crash).")
    var durability: Durability = .normal
    @Option(help: ArgumentHelp(
        "Transactions and faults held in memory for the journal's writer before the run waits for it.",
        discussion: "More absorbs longer bursts; fewer bounds the recorder's memory (a few hundred bytes to a few KB each)."))
    var writerQueue: Int = JournalRecorder.Options().queueCapacity

    func validate() throws {
        guard (1...1 << 20).contains(writerQueue) else { throw ValidationError("--writer-queue must be 1 to 1,048,576") }
    }

    func run() throws {
        let summary = try runScenario(
            options.configuration,
            journal: output.map { JournalTarget(path: $0, durability: durability, writerQueue: writerQueue) },
            progress: ProgressLine(json: json))
        print(json ? summary.json.text : summary.text)
        if summary.inhibit && summary.spuriousFaults > 0 { throw ExitStatus.found }
    }
}
