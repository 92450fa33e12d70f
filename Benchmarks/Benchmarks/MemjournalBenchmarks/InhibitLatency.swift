import Harness
import Benchmark
import Memslots
import Scenarios
import KVMBackend
import CInhibitBaseline

/// 1. Inhibit latency on KVM, 1/2/4 vCPUs: drain (kick → quiesced) and total,
/// the event wait next to the seed's spin with 100 µs sleeps. One iteration is a
/// 500-transaction `split` run with 100 µs between transactions (so vCPUs are in
/// `KVM_RUN` when kicked); every inhibited transaction is a sample.
func inhibitLatencyBenchmarks() {
    guard kvmAvailability == nil else { return skipNote("inhibit latency (KVM)") }
    for vcpus in [1, 2, 4] {
        for wait in WaitStrategy.allCases {
            Benchmark("1 inhibit latency kvm vcpus=\(vcpus) wait=\(wait.rawValue)",
                      configuration: runConfiguration([.drainNs, .inhibitNs])) { benchmark in
                var configuration = RunConfiguration(
                    scenario: .split, backend: .kvm, vcpus: vcpus, transactions: 500, wait: wait)
                configuration.intervalNs = 100_000
                let runner = try ScenarioRunner(configuration)
                try runner.run()
                for record in runner.records where record.timing.inhibited {
                    benchmark.measurement(.drainNs, Int(record.timing.drainNs))
                    benchmark.measurement(.inhibitNs, Int(record.timing.inhibitNs))
                }
            }
        }
    }
}

/// 1c. The same kick and drain in a small C program of ours (no listener, no
/// journal, no Swift): memjournal's guest program on 1/2/4 vCPUs touching the
/// `split` scenario's targets in a RAM slot of its size, 500 delete + re-create
/// of that slot, 100 µs apart — the floor that memjournal's drain and inhibit
/// are read against.
func inhibitBaselineBenchmarks() {
    guard kvmAvailability == nil else { return skipNote("C inhibit baseline (KVM)") }
    for vcpus in [1, 2, 4] {
        Benchmark("1 C baseline kvm vcpus=\(vcpus) (reference)", configuration: runConfiguration([.drainNs, .inhibitNs])) { benchmark in
            let transactions = 500
            var drain = [UInt64](repeating: 0, count: transactions)
            var inhibit = [UInt64](repeating: 0, count: transactions)
            var error = [CChar](repeating: 0, count: 256)
            let code = GuestProgram.code
            // What the guest touches under memjournal (1's `split` runs): the scenario's targets, in its RAM.
            let split = RunConfiguration(scenario: .split, vcpus: 1, transactions: 0)
            let targets = try ScenarioRunner(split).scenario.vcpuTargets.map { UInt32($0.gpa) }
            let rc = inhibit_baseline_run(code, code.count, GuestProgram.block(1) - GuestProgram.block(0), targets,
                                          Int32(targets.count), split.options.memory, Int32(vcpus),
                                          Int32(transactions), 100_000, &drain, &inhibit, &error, error.count)
            guard rc == 0 else {
                let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                print("C baseline failed: \(message)")
                throw BenchmarkFailure.diverged(message)
            }
            for (d, i) in zip(drain, inhibit) {
                benchmark.measurement(.drainNs, Int(d))
                benchmark.measurement(.inhibitNs, Int(i))
            }
        }
    }
}
