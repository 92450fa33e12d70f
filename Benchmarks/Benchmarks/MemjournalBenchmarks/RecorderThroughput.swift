import Sync
import Benchmark
import JournalStore
import Memslots

/// 4. Recorder throughput — transactions/s and rows/s written through the queue
/// and writer thread, with the hash chain (schema 5) and without it — next to raw
/// SQLite inserts of the same rows through the same library on the calling
/// thread. 20,000 `random` records.
func recorderThroughputBenchmarks() {
    for chained in [true, false] {
        Benchmark("4 recorder throughput chain=\(chained ? "on" : "off")",
                  configuration: runConfiguration([.transactionsPerSecond, .rowsPerSecond], iterations: 5)) { benchmark in
            try recordAll(benchmark, chained: chained)
        }
    }
    Benchmark("4 raw SQLite inserts (reference)",
              configuration: runConfiguration([.transactionsPerSecond, .rowsPerSecond], iterations: 5)) { benchmark in
        let records = try simulatedRecords(.random, transactions: 20_000).records
        let path = temporaryJournal("raw")
        defer { removeJournal(path) }
        benchmark.startMeasurement()
        let start = MonotonicClock.now()
        let rows = try RawInsertBaseline.write(records, to: path, header: header("sim", scenario: "random"), batch: 512)
        let seconds = Double(MonotonicClock.now() - start) / 1e9
        benchmark.stopMeasurement()
        benchmark.measurement(.transactionsPerSecond, Int(Double(records.count) / seconds))
        benchmark.measurement(.rowsPerSecond, Int(Double(rows) / seconds))
    }
}

/// One recorder run over 20,000 `random` records, chained or not.
private func recordAll(_ benchmark: Benchmark, chained: Bool) throws {
    let records = try simulatedRecords(.random, transactions: 20_000).records
    let path = temporaryJournal("recorder")
    defer { removeJournal(path) }
    benchmark.startMeasurement()
    let start = MonotonicClock.now()
    let recorder = try JournalRecorder(path: path, header: header("sim", scenario: "random"),
                                       options: JournalRecorder.Options(hashChain: chained))
    for record in records { recorder.transactionCommitted(record) }
    let statistics = try recorder.close()
    let seconds = Double(MonotonicClock.now() - start) / 1e9
    benchmark.stopMeasurement()
    guard statistics.transactionsWritten == records.count else { throw BenchmarkFailure.diverged("recorder lost transactions") }
    benchmark.measurement(.transactionsPerSecond, Int(Double(records.count) / seconds))
    benchmark.measurement(.rowsPerSecond, Int(Double(statistics.rowsWritten) / seconds))
}
