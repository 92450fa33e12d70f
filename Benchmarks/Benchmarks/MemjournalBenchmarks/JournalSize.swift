import Benchmark
import Foundation
import JournalStore
import Memslots

/// 7. Bytes on disk per slot operation after sealing: 5,000 `random` records
/// written through the recorder, closed (checkpointed), measured with stat.
func journalSizeBenchmarks() {
    Benchmark("7 journal size", configuration: runConfiguration([.bytesPerSlotOp])) { benchmark in try reporting("7 journal size") {
        let records = try simulatedRecords(.random, transactions: 5000).records
        let path = temporaryJournal("size")
        defer { removeJournal(path) }
        let recorder = try JournalRecorder(path: path, header: header("sim", scenario: "random"))
        for record in records { recorder.transactionCommitted(record) }
        _ = try recorder.close()
        var info = stat()
        precondition(stat(path, &info) == 0, "cannot stat \(path)")
        let ops = records.reduce(0) { $0 + $1.slotOps.count }
        benchmark.measurement(.bytesPerSlotOp, Int(info.st_size) / max(ops, 1))
    } }
}
