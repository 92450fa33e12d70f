// journal-bench: recorder throughput vs raw SQLite inserts of the same rows, and
// the commit-path cost of recording, on the simulated backend.
//   swift run -c release journal-bench [TRANSACTIONS]
import Journal
import Memslots
import Scenarios
#if canImport(Glibc)
import Glibc
#endif

let count = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20_000
let directory = "/tmp/journal-bench-\(getpid())"
mkdir(directory, 0o700)
func cleanup(_ path: String) { for s in ["", "-wal", "-shm", "-journal"] { unlink(path + s) } }
func rate(_ n: Int, _ ns: UInt64) -> String { String(Int(Double(n) / (Double(ns) / 1e9))) }

// 1. The records: a random-scenario run, stepping vCPUs, kept in memory.
let configuration = RunConfiguration(scenario: .random, vcpus: 2, transactions: count, seed: 1, vcpuMode: .stepping)
let runner = try ScenarioRunner(configuration)
try runner.run()
let records = runner.records
let rows = records.reduce(0) { $0 + 3 + $1.sections.count + $1.slotOps.count }
let header = JournalHeader(backend: "sim", capabilities: .x86KVM, vcpus: 2, wait: .event, inhibit: true,
                           scenario: "random", seed: 1)
print("\(records.count) transactions of the random scenario = \(rows) rows (transaction + sections + slot ops + digest)")

// 2. Recorder: enqueue every record as fast as possible, then close (drain, seal, checkpoint).
for durability in [Durability.normal, .full] {
    var h = header
    h.durability = durability
    let path = directory + "/recorder-\(durability).journal"
    cleanup(path)
    let start = MonotonicClock.now()
    let recorder = try JournalRecorder(path: path, header: h)
    for record in records { recorder.transactionCommitted(record) }
    let enqueued = MonotonicClock.now()
    let stats = try recorder.close()
    let elapsed = MonotonicClock.now() - start
    print("recorder (\(durability)):   \(rate(records.count, elapsed)) tx/s, \(rate(stats.rowsWritten, elapsed)) rows/s"
          + " (\(elapsed / 1_000_000) ms incl. create+seal; \(stats.batches) batches, max \(stats.maxBatch);"
          + " \(stats.stalls) producer stalls; enqueue of all took \((enqueued - start) / 1_000_000) ms)")
    cleanup(path)
}

// 3. Raw inserts of the same rows, same thread, 512 records per SQLite transaction.
do {
    let path = directory + "/raw.journal"
    cleanup(path)
    let start = MonotonicClock.now()
    let written = try RawInsertBaseline.write(records, to: path, header: header, batch: 512)
    let elapsed = MonotonicClock.now() - start
    print("raw inserts:         \(rate(records.count, elapsed)) tx/s, \(rate(written, elapsed)) rows/s (\(elapsed / 1_000_000) ms, 1 txn per 512 records, synchronous=NORMAL)")
    cleanup(path)
}

// 4. Commit-path cost: the same run on vCPU threads, recording off vs on; the
// observer call is timed where the listener makes it.
final class TimedObserver: TransactionObserver {
    let next: (any TransactionObserver)?
    let total = PlainLocked<(calls: Int, ns: UInt64, max: UInt64)>((0, 0, 0))
    init(_ next: (any TransactionObserver)?) { self.next = next }
    func transactionCommitted(_ record: TransactionRecord) {
        let start = MonotonicClock.now()
        next?.transactionCommitted(record)
        let ns = MonotonicClock.now() - start
        total.withLock { $0 = ($0.calls + 1, $0.ns + ns, max($0.max, ns)) }
    }
    func spuriousFault(_ fault: SpuriousFault) { next?.spuriousFault(fault) }
}
let modes: [(Bool, RunConfiguration.VCPUMode)] = [(false, .stepping), (true, .stepping), (false, .stepping), (true, .stepping),
                                                 (false, .threads), (true, .threads)]
for (recording, mode) in modes {
    let delay: UInt64 = 0
    let path = directory + "/commit-path.journal"
    cleanup(path)
    let recorder = recording ? try JournalRecorder(path: path, header: header) : nil
    let timed = TimedObserver(recorder)
    let threaded = RunConfiguration(scenario: .random, vcpus: 2, transactions: count, seed: 1, vcpuMode: mode,
                                    operationDelayNs: delay)
    let run = try ScenarioRunner(threaded, observer: timed)
    let start = MonotonicClock.now()
    try run.run()
    let elapsed = MonotonicClock.now() - start
    let stalls = try recorder?.close().stalls ?? 0
    let t = timed.total.withLock { $0 }
    print("commit path, \(mode) vCPUs, recording \(recording ? "ON " : "OFF"): \(run.records.count) tx in \(elapsed / 1_000_000) ms ="
          + " \(elapsed / UInt64(max(1, run.records.count))) ns/tx; observer call mean \(t.ns / UInt64(max(1, t.calls))) ns, max \(t.max) ns; \(stalls) queue-full stalls")
    cleanup(path)
}
rmdir(directory)
