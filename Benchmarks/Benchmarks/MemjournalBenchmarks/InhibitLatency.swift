import Harness
import Benchmark
import Memslots
import Scenarios

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
