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
                for (d, i) in try splitRun(vcpus: vcpus, transactions: 500, wait: wait) {
                    benchmark.measurement(.drainNs, Int(d))
                    benchmark.measurement(.inhibitNs, Int(i))
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
            for (d, i) in try cBaselineRun(vcpus: vcpus, transactions: 500) {
                benchmark.measurement(.drainNs, Int(d))
                benchmark.measurement(.inhibitNs, Int(i))
            }
        }
    }
    // 1d. Both in turns: 10 rounds of 50 transactions of the C baseline, then 50
    // of memjournal's `split` run (as in 1), so a neighbour's load or a
    // frequency change falls on both sides alike, not on whichever ran second.
    for vcpus in [1, 2, 4] {
        Benchmark("1 drain in turns kvm vcpus=\(vcpus), C vs memjournal",
                  configuration: runConfiguration([.cDrainNs, .drainNs, .cInhibitNs, .inhibitNs])) { benchmark in
            for _ in 0..<10 {
                for (d, i) in try cBaselineRun(vcpus: vcpus, transactions: 50) {
                    benchmark.measurement(.cDrainNs, Int(d))
                    benchmark.measurement(.cInhibitNs, Int(i))
                }
                for (d, i) in try splitRun(vcpus: vcpus, transactions: 50, wait: .event) {
                    benchmark.measurement(.drainNs, Int(d))
                    benchmark.measurement(.inhibitNs, Int(i))
                }
            }
        }
    }
}

/// One memjournal `split` run on KVM: `transactions` transactions 100 µs apart
/// (so vCPUs are in `KVM_RUN` when kicked); each inhibited transaction's drain and inhibit.
private func splitRun(vcpus: Int, transactions: Int, wait: WaitStrategy) throws -> [(UInt64, UInt64)] {
    var configuration = RunConfiguration(
        scenario: .split, backend: .kvm, vcpus: vcpus, transactions: transactions, wait: wait)
    configuration.intervalNs = 100_000
    let runner = try ScenarioRunner(configuration)
    try runner.run()
    return runner.records.filter(\.timing.inhibited).map { ($0.timing.drainNs, $0.timing.inhibitNs) }
}

/// One run of the C baseline: `transactions` delete + re-create of the `split`
/// scenario's RAM slot, 100 µs apart, under memjournal's guest program touching
/// that scenario's targets on `vcpus` vCPUs; each transaction's drain and inhibit.
private func cBaselineRun(vcpus: Int, transactions: Int) throws -> Zip2Sequence<[UInt64], [UInt64]> {
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
    return zip(drain, inhibit)
}
