import MemoryModel
import Memslots
import Scenarios
import Testing
import TestSupport
import Harness
@testable import JournalStore
import Sync

/// A minimal valid record with the given sequence.
func syntheticRecord(_ sequence: UInt64) -> TransactionRecord {
    let range = try! GuestRange(start: sequence << 12, size: 0x1000)
    let section = MemorySection(
        range: range, regionName: "r\(sequence)", kind: .ram, backing: BackingLocation(backing: 1, offset: sequence << 12),
        readOnly: false, romd: false, dirtyLog: false)
    return TransactionRecord(
        sequence: sequence, addressSpace: 0, beginNs: sequence * 10, commitNs: sequence * 10 + 5,
        sections: [SectionChange(.add, section)], decision: OverlapDecision(pair: nil),
        slotOps: [SlotOperation(kind: .create, slot: SlotID(rawValue: UInt32(sequence)), range: range,
                                host: section.backing!, flags: [])],
        timing: .notInhibited(applyNs: 7), digest: SlotTableDigest(count: Int(sequence), hash: sequence &* 0x9e37_79b9))
}

@Suite("Journal recorder")
struct RecorderTests {
    @Test("queue full: producers block, stalls are counted and stored, nothing is dropped")
    func queueFullBlocksAndCounts() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("full.journal")
        let recorder = try JournalRecorder(
            path: path, header: simHeader(RunConfiguration(scenario: .pam)), options: .init(queueCapacity: 4, maxBatch: 2))
        recorder.pauseWriter(true)
        // Guarded: set by the producer after its last record, read by the test's thread.
        let producedAll = PlainLocked(false)
        let producer = OSThread {
            for sequence in UInt64(1)...40 { recorder.transactionCommitted(syntheticRecord(sequence)) }
            producedAll.withLock { $0 = true }
        }
        // With the writer held, the producer must be stuck after 4 items.
        MonotonicClock.sleep(nanoseconds: 50_000_000)
        #expect(producedAll.withLock { $0 } == false, "producer should be blocked on the full queue")
        #expect(recorder.statistics.stalls == 1)
        #expect(recorder.statistics.transactionsEnqueued == 4)
        recorder.pauseWriter(false)
        producer.join()
        let statistics = try recorder.close()
        #expect(statistics.transactionsWritten == 40)
        #expect(statistics.stalls >= 1 && statistics.stallNs >= 40_000_000)
        #expect(statistics.lostAfterFailure == 0 && statistics.lateItems == 0)
        #expect(statistics.maxBatch <= 2)

        let reader = try JournalReader(path: path)
        #expect(try reader.records() == (UInt64(1)...40).map(syntheticRecord))
        let stored = try #require(try reader.recorderStatistics())
        #expect(stored.stalls == statistics.stalls && stored.queueCapacity == 4 && stored.lastSequence == 40)
    }

    @Test("items offered after close are counted, not silently dropped")
    func lateItemsCounted() throws {
        let dir = makeTemporaryDirectory()
        let recorder = try JournalRecorder(path: dir.file("late.journal"), header: simHeader(RunConfiguration(scenario: .pam)))
        recorder.transactionCommitted(syntheticRecord(1))
        try recorder.close()
        recorder.transactionCommitted(syntheticRecord(2))
        #expect(recorder.statistics.lateItems == 1)
        let reader = try JournalReader(path: dir.file("late.journal"))
        #expect(try reader.summary().transactions == 1)
        #expect(try reader.sequenceBounds()?.last == 1)
    }

    @Test("a write failure is reported by close, with the loss counted")
    func writeFailureReported() throws {
        let dir = makeTemporaryDirectory()
        let recorder = try JournalRecorder(path: dir.file("dup.journal"), header: simHeader(RunConfiguration(scenario: .pam)))
        recorder.transactionCommitted(syntheticRecord(1))
        recorder.transactionCommitted(syntheticRecord(1))  // duplicate sequence: the batch fails
        recorder.flush()
        recorder.transactionCommitted(syntheticRecord(2))
        #expect(throws: JournalError.self) { try recorder.close() }
        #expect(recorder.statistics.lostAfterFailure >= 2)
    }

    @Test("a journal with an intent but no outcome reports the transaction as cut off")
    func cutOffReported() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("cut.journal")
        let recorder = try JournalRecorder(path: path, header: simHeader(RunConfiguration(scenario: .pam)))
        for sequence in UInt64(1)...3 { recorder.transactionCommitted(syntheticRecord(sequence)) }
        try recorder.close()
        // Simulate a kill between the writer's two commits for transaction 3.
        let db = try Database(path: path, mode: .readWrite)
        try db.execute("PRAGMA foreign_keys = ON; BEGIN")
        try db.execute(cutOffSQL(sequence: 3))
        try db.prepare("UPDATE journal_header SET clean_close = 0 WHERE id = ?").run(.integer(1))
        try db.execute("COMMIT")
        let reader = try JournalReader(path: path)
        #expect(try reader.records().map(\.sequence) == [1, 2])
        let cut = try reader.cutOffTransactions()
        let expected = syntheticRecord(3)
        #expect(cut == [CutOffTransaction(
            sequence: 3, addressSpace: 0, beginNs: expected.beginNs, sections: expected.sections,
            decision: expected.decision)])
        let summary = try reader.summary()
        #expect(summary.cutOff == 1 && summary.complete == 2 && !summary.cleanClose)
    }

    @Test("durability full records the same")
    func durabilityFull() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("full-durability.journal")
        let configuration = RunConfiguration(scenario: .romd, vcpus: 1, transactions: 20, vcpuMode: .stepping)
        let recorder = try JournalRecorder(path: path, header: simHeader(configuration, durability: .full))
        let runner = try ScenarioRunner(configuration, observer: recorder)
        try runner.run()
        try recorder.close()
        let reader = try JournalReader(path: path)
        #expect(try reader.header().durability == .full)
        #expect(try reader.records() == runner.records)
    }
}
