import Harness
import JournalFormats
import MemoryModel
import Memslots
import Scenarios
import Synchronization
import Sync
import Testing
import TestSupport
@testable import JournalStore

/// A transaction whose drain timed out on the simulated backend: applied
/// non-atomically, named in its record, journaled, and kept through export/import.
@Suite struct DrainTimeoutJournalTests {
    final class Signals: Sendable {
        /// Each is stored releasing by the thread that takes the step and loaded
        /// acquiring by the one waiting for it, so the waiter sees the step done.
        let inside = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
    }

    @Test func aVCPUThatNeverLeavesGivesAJournaledDrainTimeoutAndTheTransactionIsApplied() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("stuck.journal")
        var configuration = RunConfiguration(scenario: .split, vcpus: 2, transactions: 4, seed: 5, vcpuMode: .stepping)
        configuration.drainTimeoutNs = 40_000_000
        let recorder = try JournalRecorder(path: path, header: simHeader(configuration))
        let runner = try ScenarioRunner(configuration, observer: recorder)
        recorder.recordConfiguration(backings: runner.machine.backings, regions: regions(of: runner.machine))

        // vCPU 1 enters its ioctl from another thread and never leaves while the
        // transactions run (as if blocked in the kernel on an unserved userfault).
        let blocker = runner.machine.blocker
        let signals = Signals()
        let stuck = OSThread {
            blocker.beginVCPU(1)
            signals.inside.store(true, ordering: .releasing)
            while !signals.release.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 200_000) }
            blocker.endVCPU(1)
        }
        while !signals.inside.load(ordering: .acquiring) { MonotonicClock.sleep(nanoseconds: 100_000) }
        for _ in 0..<4 { try runner.step() }
        signals.release.store(true, ordering: .releasing)
        stuck.join()
        _ = try recorder.close()

        let inhibited = runner.records.filter(\.timing.inhibited)
        try #require(!inhibited.isEmpty, "split overlaps, so its transactions inhibit")
        for record in inhibited {
            #expect(record.timing.drainTimeout == DrainTimeout(vcpus: [1], vmIoctls: 0), "transaction \(record.sequence)")
            #expect(record.timing.drainNs >= 40_000_000)
            #expect(!record.slotOps.isEmpty && record.failedOps.isEmpty, "applied anyway")
        }
        // The listener applied every transaction: its table is what the view calls for.
        let listener = try #require(runner.machine.listeners[0])
        #expect(listener.digest == runner.records.last?.digest)

        let reader = try JournalReader(path: path)
        #expect(try reader.records() == runner.records)
        #expect(try reader.summary().drainTimeouts == inhibited.count)

        // The canonical text keeps it, and only on the lines that have one.
        let exported = dir.file("stuck.jsonl")
        try CanonicalJSONL.export(journal: path, to: exported)
        let text = String(decoding: contents(exported) ?? [], as: UTF8.self)
        #expect(text.components(separatedBy: "\"drain_timeout\":{\"vcpus\":[1],\"vm_ioctls\":0}").count - 1 == inhibited.count)
        let copy = dir.file("copy.journal")
        try CanonicalJSONL.importFile(exported, to: copy)
        #expect(try JournalReader(path: copy).records() == runner.records)
    }
}
