import Harness
import Benchmark
import Scenarios

/// 2. Spurious faults per 1,000 overlapping transactions, inhibit on vs off, on
/// the simulated backend (threads) and on KVM; 2 vCPUs, `split`. Three runs each.
func atomicityBenchmarks() {
    var backends: [Backend] = [.sim]
    if kvmAvailability == nil { backends.append(.kvm) } else { skipNote("atomicity (KVM)") }
    for backend in backends {
        for inhibit in [true, false] {
            Benchmark("2 atomicity \(backend.rawValue) inhibit=\(inhibit ? "on" : "off")",
                      configuration: runConfiguration([.faultsPer1000], iterations: 3)) { benchmark in
                var configuration = RunConfiguration(
                    scenario: .split, backend: backend, vcpus: 2, transactions: 1000, inhibit: inhibit)
                configuration.intervalNs = 20_000
                let runner = try ScenarioRunner(configuration)
                try runner.run()
                let overlapping = max(runner.records.count { $0.decision.overlaps }, 1)
                benchmark.measurement(.faultsPer1000, runner.vcpus.statistics.spuriousFaults * 1000 / overlapping)
            }
        }
    }
}
