import Benchmark
import JournalStore
import Sync

/// 8. `inspect J verify` throughput: transactions/s over a 100,000-transaction
/// `random` journal (recorded once, sealed, chained), the whole check each time.
func verifyThroughputBenchmarks() {
    Benchmark("8 verify 100k", configuration: runConfiguration([.transactionsPerSecond], iterations: 3)) { benchmark in
        let path = try VerifyJournal.path()
        benchmark.startMeasurement()
        let start = MonotonicClock.now()
        let verification = try JournalVerifier.verify(try JournalReader(path: path))
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        benchmark.stopMeasurement()
        guard verification.chain == .sealed else { throw BenchmarkFailure.diverged("the journal did not verify as sealed") }
        benchmark.measurement(.transactionsPerSecond, Int(Double(verification.transactions) / seconds))
    }
}

/// The 100,000-transaction journal, recorded on first use.
private enum VerifyJournal {
    /// Guarded: read and set under the lock. Benchmarks run one at a time, so the
    /// journal is made once (two first uses at once would each make an equal one).
    static let made = PlainLocked<String?>(nil)

    static func path() throws -> String {
        if let path = made.withLock({ $0 }) { return path }
        let path = temporaryJournal("verify")
        let records = try simulatedRecords(.random, transactions: 100_000).records
        let recorder = try JournalRecorder(path: path, header: header("sim", scenario: "random"))
        for record in records { recorder.transactionCommitted(record) }
        try recorder.close()
        made.withLock { $0 = path }
        return path
    }
}
