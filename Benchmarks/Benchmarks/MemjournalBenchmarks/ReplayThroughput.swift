import Sync
import Harness
import Benchmark
import KVMBackend
import Memslots
import Replay
import Scenarios

/// 6. Replay throughput (slot-ops mode) on sim and KVM for `pam` and `random`,
/// next to the raw rate of issuing the same ioctls on a fresh backend without
/// replay's checks. 1,000 recorded transactions each; on a KVM without SMM
/// (one address space), the SMM transactions of `random` are left out of both
/// and the rest renumbered.
func replayThroughputBenchmarks() {
    var backends: [Backend] = [.sim]
    if kvmAvailability == nil { backends.append(.kvm) } else { skipNote("replay throughput (KVM)") }
    for kind in [ScenarioKind.pam, .random] {
        for backend in backends {
            Benchmark("6 replay \(kind.rawValue) \(backend.rawValue)",
                      configuration: runConfiguration([.transactionsPerSecond], iterations: 3)) { benchmark in
                let source = try replaySource(kind, for: backend)
                let report = try ReplayEngine.run(source, options: ReplayOptions(backend: backend, mode: .slotOps))
                if let divergence = report.divergence { throw BenchmarkFailure.diverged("\(divergence)") }
                benchmark.measurement(.transactionsPerSecond, Int(report.transactionsPerSecond))
            }
            Benchmark("6 raw ioctls \(kind.rawValue) \(backend.rawValue) (reference)",
                      configuration: runConfiguration([.transactionsPerSecond], iterations: 3)) { benchmark in
                let source = try replaySource(kind, for: backend)
                guard case .memory(let records) = source.records else { return }
                let target: any MemslotBackend = backend == .kvm ? try KVMBackend() : SimulatedBackend()
                for backing in source.backings { _ = target.createBacking(backing) }
                let start = MonotonicClock.now()
                for record in records {
                    for op in record.slotOps {
                        if op.kind == .dirtyLog { _ = target.getDirtyLog(slot: op.slot) } else {
                            _ = target.setUserMemoryRegion(op.request)
                        }
                    }
                }
                let seconds = Double(MonotonicClock.now() - start) / 1e9
                benchmark.measurement(.transactionsPerSecond, Int(Double(records.count) / seconds))
            }
        }
    }
}

enum BenchmarkFailure: Error {
    case diverged(String)
}

func replaySource(_ kind: ScenarioKind, for backend: Backend) throws -> ReplaySource {
    let runner = try simulatedRecords(kind, transactions: 1000)
    let spaces = backend == .kvm ? try KVMBackend().capabilities.addressSpaces : 2
    // Left out, the SMM transactions would leave holes in the history, which
    // replay refuses: the rest are renumbered (digests are per address space).
    let kept = runner.records.filter { Int($0.addressSpace) < spaces }.enumerated().map { index, record in
        var renumbered = record
        renumbered.sequence = UInt64(index + 1)
        return renumbered
    }
    return ReplaySource(
        name: kind.rawValue, backings: runner.machine.backings,
        records: kept,
        maxSlotSize: runner.machine.listeners[0]?.maxSlotSize ?? .max, inhibit: true, wait: .event)
}
