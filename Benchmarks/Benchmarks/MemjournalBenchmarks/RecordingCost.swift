import Sync
import Harness
import Benchmark
import JournalStore
import Memslots
import Scenarios

/// Times each transaction from the listener's begin until the observer call has
/// returned — the commit path as the VMM feels it, recorder included.
final class CommitPathTimer: TransactionObserver {
    let next: (any TransactionObserver)?
    /// Guarded: appended on the committing thread, read after the run.
    let samples = PlainLocked<[UInt64]>([])

    init(next: (any TransactionObserver)?) { self.next = next }

    func transactionCommitted(_ record: TransactionRecord) {
        next?.transactionCommitted(record)
        let total = MonotonicClock.now() - record.beginNs
        samples.withLock { $0.append(total) }
    }

    func spuriousFault(_ fault: SpuriousFault) { next?.spuriousFault(fault) }
}

/// 3. What recording adds to the commit path: transaction time with the recorder
/// on vs off (KVM and sim, `pam`, 2 vCPUs), and the enqueue cost alone.
func recordingCostBenchmarks() {
    var backends: [Backend] = [.sim]
    if kvmAvailability == nil { backends.append(.kvm) } else { skipNote("recording cost (KVM)") }
    for backend in backends {
        for recording in [false, true] {
            Benchmark("3 commit path \(backend.rawValue) recorder=\(recording ? "on" : "off")",
                      configuration: runConfiguration([.transactionNs])) { benchmark in
                var configuration = RunConfiguration(scenario: .pam, backend: backend, vcpus: 2, transactions: 1000)
                configuration.intervalNs = 100_000
                let path = temporaryJournal("commit")
                defer { removeJournal(path) }
                let recorder = recording ? try JournalRecorder(path: path, header: header(backend.rawValue, scenario: "pam")) : nil
                let timer = CommitPathTimer(next: recorder)
                let runner = try ScenarioRunner(configuration, observer: timer)
                try runner.run()
                _ = try recorder?.close()
                for sample in timer.samples.withLock({ $0 }) { benchmark.measurement(.transactionNs, Int(sample)) }
            }
        }
    }
    Benchmark("3 recorder enqueue", configuration: runConfiguration([.enqueueNs])) { benchmark in
        let records = try simulatedRecords(.pam, transactions: 2000).records
        let path = temporaryJournal("enqueue")
        defer { removeJournal(path) }
        let recorder = try JournalRecorder(path: path, header: header("sim", scenario: "pam"))
        for record in records {
            let start = MonotonicClock.now()
            recorder.transactionCommitted(record)
            benchmark.measurement(.enqueueNs, Int(MonotonicClock.now() - start))
            // Paced like a VMM's commits, so the queue is not simply full.
            MonotonicClock.sleep(nanoseconds: 20_000)
        }
        _ = try recorder.close()
    }
}
