import Analysis
import Benchmark
import JournalStore
import Memslots
import Reduction
import Replay
import Sync

/// 9. `reduce` on a 10,000-transaction `random` history with one transaction
/// edited (its last operation made to fail with EINVAL), next to one evaluation
/// of the predicate on the whole input; `diff` over two 100,000-transaction
/// histories, next to a plain element-by-element comparison.
func reduceAndDiffBenchmarks() {
    for mode in ReplayOptions.Mode.allCases {
        Benchmark("9 reduce 10k divergence \(mode.rawValue)",
                  configuration: runConfiguration([.wallClock, .candidates, .transactionsLeft], iterations: 3)) { benchmark in
            try reporting("9 reduce") {
                let input = WalkedHistory(try EditedHistory.contents())
                guard case .success(let test) = try ReductionPredicate.divergence(mode: mode).test(for: input) else {
                    throw BenchmarkFailure.diverged("the edited history does not diverge")
                }
                benchmark.startMeasurement()
                let outcome = try HistoryReduction(try CandidateHistory(input, derivation: .listener), keeping: test).run()
                benchmark.stopMeasurement()
                benchmark.measurement(.candidates, outcome.evaluations)
                benchmark.measurement(.transactionsLeft, try outcome.history.transactionCount())
            }
        }
        Benchmark("9 one predicate evaluation 10k divergence \(mode.rawValue) (reference)",
                  configuration: runConfiguration([.wallClock], iterations: 3)) { benchmark in
            try reporting("9 one evaluation") {
                let input = WalkedHistory(try EditedHistory.contents())
                benchmark.startMeasurement()
                guard case .success = try ReductionPredicate.divergence(mode: mode).test(for: input) else {
                    throw BenchmarkFailure.diverged("the edited history does not diverge")
                }
                benchmark.stopMeasurement()
            }
        }
    }
    for edits in [0, 100] {
        Benchmark("9 diff 100k edits=\(edits)", configuration: runConfiguration([.wallClock, .transactionsPerSecond], iterations: 3)) { benchmark in
            let (a, b) = try DiffHistories.pair(edits: edits)
            benchmark.startMeasurement()
            let start = MonotonicClock.now()
            let diff = HistoryDiff(a, b)
            let seconds = Double(MonotonicClock.now() - start) / 1e9
            benchmark.stopMeasurement()
            guard diff.equivalent == (edits == 0), diff.changed.count == edits else {
                throw BenchmarkFailure.diverged("diff found \(diff.changed.count) changes, \(edits) were made")
            }
            benchmark.measurement(.transactionsPerSecond, Int(Double(a.count) / seconds))
        }
    }
    Benchmark("9 element-wise == 100k (reference)", configuration: runConfiguration([.wallClock, .transactionsPerSecond], iterations: 3)) { benchmark in
        let (a, b) = try DiffHistories.pair(edits: 0)
        benchmark.startMeasurement()
        let start = MonotonicClock.now()
        let same = a == b
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        benchmark.stopMeasurement()
        guard same else { throw BenchmarkFailure.diverged("a copy differs") }
        benchmark.measurement(.transactionsPerSecond, Int(Double(a.count) / seconds))
    }
}

extension BenchmarkMetric {
    static let candidates = BenchmarkMetric.custom("candidates evaluated", polarity: .prefersSmaller, useScalingFactor: false)
    static let transactionsLeft = BenchmarkMetric.custom("transactions left", polarity: .prefersSmaller, useScalingFactor: false)
}

/// 10,000 `random` transactions with transaction 5,000's last operation failing.
private enum EditedHistory {
    /// Guarded: read and set under the lock. Benchmarks run one at a time, so the
    /// history is made once (two first uses at once would each make an equal one).
    static let made = PlainLocked<JournalContents?>(nil)

    static func contents() throws -> JournalContents {
        if let contents = made.withLock({ $0 }) { return contents }
        let runner = try simulatedRecords(.random, transactions: 10_000)
        var records = runner.records
        let index = records.indices.first { $0 >= 5_000 && !records[$0].slotOps.isEmpty }!
        records[index].slotOps[records[index].slotOps.count - 1].errno = 22
        var h = header("sim", scenario: "random")
        h.cleanClose = true
        let contents = JournalContents(header: h, backings: runner.machine.backings, regions: [:], records: records,
                                       cutOff: [], faults: [], recorderStatistics: nil)
        made.withLock { $0 = contents }
        return contents
    }
}

/// A 100,000-transaction `random` history and the same history recorded again
/// (equal content, A's times, its own storage: nothing compares equal by
/// identity), with `edits` operations' errno changed.
private enum DiffHistories {
    /// Guarded: read and set under the lock. Benchmarks run one at a time, so the
    /// pair is made once (two first uses at once would each make an equal one).
    static let made = PlainLocked<([TransactionRecord], [TransactionRecord])?>(nil)

    static func pair(edits: Int) throws -> ([TransactionRecord], [TransactionRecord]) {
        let a: [TransactionRecord], again: [TransactionRecord]
        if let known = made.withLock({ $0 }) { (a, again) = known } else {
            a = try simulatedRecords(.random, transactions: 100_000).records
            // The same seed gives the same content; only the measured times differ: take A's.
            again = zip(a, try simulatedRecords(.random, transactions: 100_000).records).map { mine, other in
                var other = other
                other.beginNs = mine.beginNs
                other.commitNs = mine.commitNs
                other.timing = mine.timing
                for index in other.slotOps.indices { other.slotOps[index].durationNs = mine.slotOps[index].durationNs }
                return other
            }
            made.withLock { $0 = (a, again) }
        }
        var b = again
        let withOps = b.indices.filter { !b[$0].slotOps.isEmpty }
        for n in 0..<edits {
            let index = withOps[(n * 997) % withOps.count]
            b[index].slotOps[0].errno = 22
        }
        return (a, b)
    }
}
