import Memslots
import Testing
@testable import Scenarios
import Harness

@Suite struct ScaleTests {
    /// A remap of 32,000 slots completes and leaves a full table; its cost per slot
    /// is printed (benchmarks measure it; this test only checks it finishes right).
    @Test func remapOfThirtyTwoThousandSlots() throws {
        let runner = try ScenarioRunner(RunConfiguration(
            scenario: .scale, options: ScenarioOptions(slots: 32_000), vcpus: 1, transactions: 2,
            vcpuMode: .stepping))
        try runner.run()
        let remaps = runner.records.dropFirst()
        for record in remaps {
            let deletes = record.slotOps.count { $0.kind == .delete }
            let creates = record.slotOps.count { $0.kind == .create }
            #expect(deletes >= 32_000 && creates >= 32_000)
            #expect(record.failedOps.isEmpty)
            let ns = record.commitNs - record.beginNs
            print("scale: remap of \(deletes) + \(creates) slots in \(ns / 1000) µs, \(ns / UInt64(deletes + creates)) ns per slot op")
        }
        #expect(remaps.count == 2)
        #expect((runner.machine.listeners[0]?.installedSlots.count ?? 0) >= 32_000)
    }
}
