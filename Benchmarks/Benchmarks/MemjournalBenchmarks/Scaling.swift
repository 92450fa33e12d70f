import Harness
import Benchmark
import Scenarios

/// 5. Commit cost per slot at 16, 512, 8,192 and 32,000 slots: `scale` remaps
/// its whole RAM region (every slot deleted and re-created) on the simulated
/// backend, stepping, no operation delay.
func scalingBenchmarks() {
    for slots in [16, 512, 8192, 32_000] {
        Benchmark("5 scaling slots=\(slots)", configuration: runConfiguration([.nsPerSlotOp, .remapMs])) { benchmark in
            let runner = try ScenarioRunner(RunConfiguration(
                scenario: .scale, options: ScenarioOptions(slots: slots), vcpus: 1, transactions: 9, vcpuMode: .stepping))
            try runner.run()
            for record in runner.records.dropFirst() {
                let ns = record.commitNs - record.beginNs
                benchmark.measurement(.nsPerSlotOp, Int(ns) / max(record.slotOps.count, 1))
                benchmark.measurement(.remapMs, Int(ns / 1_000_000))
            }
        }
    }
}
