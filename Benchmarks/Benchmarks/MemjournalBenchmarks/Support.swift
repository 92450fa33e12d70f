import Sync
import Harness
import Benchmark
import Foundation
import JournalStore
import KVMBackend
import Memslots
import Scenarios

/// Whether `/dev/kvm` opens; KVM benchmarks are left out (with the reason printed) otherwise.
let kvmAvailability: String? = {
    switch KVMBackend.availability() {
    case .success: return nil
    case .failure(let errno): return "/dev/kvm cannot be opened (\(errno))"
    }
}()

func skipNote(_ name: String) {
    if let reason = kvmAvailability { print("skipping \(name): \(reason)") }
}

/// A whole-run benchmark: each iteration is one run that reports many samples
/// through custom metrics, so a couple of iterations suffice.
func runConfiguration(_ metrics: [BenchmarkMetric], iterations: Int = 1) -> Benchmark.Configuration {
    .init(metrics: metrics, timeUnits: .microseconds, warmupIterations: 0, maxDuration: .seconds(120),
          maxIterations: iterations)
}

extension BenchmarkMetric {
    static let drainNs = BenchmarkMetric.custom("drain (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    static let inhibitNs = BenchmarkMetric.custom("inhibit (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    /// The C baseline's, where one benchmark measures both sides.
    static let cDrainNs = BenchmarkMetric.custom("C drain (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    static let cInhibitNs = BenchmarkMetric.custom("C inhibit (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    static let faultsPer1000 = BenchmarkMetric.custom("spurious faults per 1000 txns", polarity: .prefersSmaller,
                                                      useScalingFactor: false)
    static let transactionNs = BenchmarkMetric.custom("transaction incl. observer (ns)", polarity: .prefersSmaller,
                                                      useScalingFactor: false)
    static let enqueueNs = BenchmarkMetric.custom("enqueue (ns)", polarity: .prefersSmaller, useScalingFactor: false)
    static let transactionsPerSecond = BenchmarkMetric.custom("transactions/s", polarity: .prefersLarger,
                                                              useScalingFactor: false)
    static let rowsPerSecond = BenchmarkMetric.custom("rows/s", polarity: .prefersLarger, useScalingFactor: false)
    static let nsPerSlotOp = BenchmarkMetric.custom("commit ns per slot op", polarity: .prefersSmaller,
                                                    useScalingFactor: false)
    static let remapMs = BenchmarkMetric.custom("remap (ms)", polarity: .prefersSmaller, useScalingFactor: false)
    static let bytesPerSlotOp = BenchmarkMetric.custom("journal bytes per slot op", polarity: .prefersSmaller,
                                                       useScalingFactor: false)
}

/// The benchmarks' private temporary directory (mkdtemp); each journal in it is
/// removed after use.
let benchmarkDirectory: TemporaryDirectory = {
    do { return try TemporaryDirectory(prefix: "memjournal-bench") } catch {
        fatalError("cannot create a temporary directory under \(TemporaryDirectory.base): \(error)")
    }
}()

/// A fresh journal path in the benchmarks' private directory.
func temporaryJournal(_ name: String) -> String {
    benchmarkDirectory.file("\(name)-\(UInt64.random(in: 0..<UInt64.max)).journal")
}

func removeJournal(_ path: String) { JournalSideFiles.removeAll(path) }

/// Records of a seeded stepping run on the simulated backend, kept in memory.
func simulatedRecords(_ kind: ScenarioKind, transactions: Int) throws -> ScenarioRunner {
    let runner = try ScenarioRunner(RunConfiguration(
        scenario: kind, vcpus: 2, transactions: transactions, seed: 1, vcpuMode: .stepping))
    try runner.run()
    return runner
}

func header(_ backend: String, scenario: String) -> JournalHeader {
    JournalHeader(backend: backend, capabilities: .x86KVM, vcpus: 2, wait: .event, inhibit: true, scenario: scenario,
                  seed: 1)
}

/// Runs a benchmark body and prints any error before rethrowing it: the
/// benchmark runner otherwise drops a throwing benchmark's results silently.
func reporting(_ name: String, _ body: () throws -> Void) throws {
    do { try body() } catch {
        print("benchmark \(name) failed: \(error)")
        throw error
    }
}
