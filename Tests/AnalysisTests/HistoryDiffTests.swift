import Foundation
import Testing
import Harness
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Scenarios
import TestSupport
@testable import Analysis

/// `diff`: equivalence where the histories are the same, and the differences
/// where they are not, checked against independent counts.
struct HistoryDiffTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    static func history(_ scenario: ScenarioKind, transactions: Int, seed: UInt64) throws -> [TransactionRecord] {
        let configuration = RunConfiguration(
            scenario: scenario, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: transactions, seed: seed,
            vcpuMode: .stepping)
        let runner = try ScenarioRunner(configuration)
        try runner.run()
        return runner.records
    }

    @Test func aHistoryAgainstItselfAndItsExportIsEquivalent() throws {
        let dir = makeTemporaryDirectory()
        let journal = dir.file("split.journal")
        try CanonicalJSONL.importFile(Self.fixtures + "/split.jsonl", to: journal)
        try CanonicalJSONL.export(journal: journal, to: dir.file("back.jsonl"))
        let original = try HistoryFile.contents(of: journal, verify: true).records
        let exported = try HistoryFile.contents(of: dir.file("back.jsonl"), verify: true).records
        for options in [HistoryDiff.Options(), HistoryDiff.Options(strict: true)] {
            #expect(HistoryDiff(original, original, options: options).equivalent)
            let diff = HistoryDiff(original, exported, options: options)
            #expect(diff.equivalent && diff.equal == original.count)
        }
    }

    @Test func theTwoSeaBIOSTracesDifferInTheirRAMSizeOnly() throws {
        let a = try QEMUTraceImporter.read(Self.fixtures + "/qemu/seabios-boot-qemu-7.2.log").contents.records
        let b = try QEMUTraceImporter.read(Self.fixtures + "/qemu/seabios-boot-qemu-7.2-no-timestamps.log").contents.records
        // Independently: the transactions with an operation reaching A's top of RAM (256 MiB).
        let touchingRAMTop = a.filter { $0.slotOps.contains { $0.range.last == 0x0fff_ffff } }.map(\.sequence)
        try #require(!touchingRAMTop.isEmpty)
        let diff = HistoryDiff(a, b, options: HistoryDiff.Options(ignored: [.names]))
        #expect(!diff.equivalent)
        #expect(diff.changed.map(\.a) == touchingRAMTop)
        #expect(diff.changed.allSatisfy { $0.a == $0.b })
        #expect(diff.removed.isEmpty && diff.inserted.isEmpty)
        #expect(diff.changed.flatMap(\.differences).allSatisfy { $0.contains("0xfffffff") })
        #expect(diff.firstMapDifference?.a == touchingRAMTop.first)
        // The backings are numbered differently (host address order), consistently: no host difference is left.
        #expect(diff.equal == a.count - touchingRAMTop.count)
        // Ignoring sizes, the RAM size was the only change.
        #expect(HistoryDiff(a, b, options: HistoryDiff.Options(ignored: [.names, .sizes])).equivalent)
        // Strict: the backing numbers and the file names differ too.
        #expect(HistoryDiff(a, b, options: HistoryDiff.Options(ignored: [.sizes], strict: true)).changed.count > touchingRAMTop.count)
    }

    @Test(arguments: [(ScenarioKind.pam, 2 as UInt64), (.random, 3), (.bar, 5)])
    func twoSeedsDifferByTheLongestCommonSubsequence(scenario: ScenarioKind, seed: UInt64) throws {
        let a = try Self.history(scenario, transactions: 70, seed: 1)
        let b = try Self.history(scenario, transactions: 70, seed: seed)
        // An independent key and count: what each transaction does, as text, and a quadratic LCS.
        func key(_ r: TransactionRecord) -> String {
            "\(r.addressSpace)|" + r.sections.map { "\($0.kind.rawValue) \($0.section.range) \($0.section.regionName) "
                + "\($0.section.kind.rawValue) \($0.section.readOnly) \($0.section.romd) \($0.section.dirtyLog)" }.joined(separator: ";")
                + "|\(r.decision.overlaps)|" + r.slotOps.map { "\($0.kind) \($0.range) \($0.flags.rawValue) \($0.errno)" }
                .joined(separator: ";")
        }
        var ids: [String: Int] = [:]
        func id(_ r: TransactionRecord) -> Int {
            if let known = ids[key(r)] { return known }
            ids[key(r)] = ids.count
            return ids.count - 1
        }
        let ka = a.map(id), kb = b.map(id)
        let common = EditScriptTests.lcs(ka, kb)
        #expect(common < min(a.count, b.count), "the two seeds should differ")
        let diff = HistoryDiff(a, b, options: HistoryDiff.Options(ignored: [.slotIDs, .hosts]))
        #expect(diff.equal == common)
        #expect(diff.removed.count + diff.changed.count == a.count - common)
        #expect(diff.inserted.count + diff.changed.count == b.count - common)
        #expect(diff.changedCount == diff.changed.count && diff.removedCount == diff.removed.count)
        #expect(!diff.equivalent)

        // Alignment keys in a scratch file past 8 of them, and at most 2 of each kind
        // listed: the same diff, counted the same.
        let spilled = try HistoryDiff(.memory(a), .memory(b), options: HistoryDiff.Options(ignored: [.slotIDs, .hosts], listed: 2),
                                      keysInMemory: 8)
        #expect(spilled.equal == diff.equal && spilled.firstMapDifference == diff.firstMapDifference)
        #expect((spilled.changedCount, spilled.removedCount, spilled.insertedCount)
            == (diff.changed.count, diff.removed.count, diff.inserted.count))
        #expect(spilled.changed == Array(diff.changed.prefix(2)) && spilled.removed == Array(diff.removed.prefix(2))
            && spilled.inserted == Array(diff.inserted.prefix(2)))
        #expect(!spilled.equivalent)
    }

    @Test func aConsistentRenamingOfASlotIsNoDifferenceAnInconsistentOneIs() throws {
        let a = try Self.history(.hotplug, transactions: 60, seed: 1)
        let used = Set(a.flatMap(\.slotOps).map(\.slot))
        // The slot id used by the most transactions.
        let slots = a.flatMap { Set($0.slotOps.map(\.slot)) }
        let victim = try #require(Set(slots).max { x, y in slots.filter { $0 == x }.count < slots.filter { $0 == y }.count })
        let fresh = SlotID(index: 4_000, addressSpace: victim.addressSpace)
        try #require(!used.contains(fresh))
        func renamed(_ records: [TransactionRecord], only sequence: UInt64? = nil) -> [TransactionRecord] {
            records.map { record in
                var record = record
                guard sequence == nil || record.sequence == sequence else { return record }
                for index in record.slotOps.indices where record.slotOps[index].slot == victim {
                    record.slotOps[index].slot = fresh
                }
                return record
            }
        }
        let everywhere = renamed(a)
        #expect(HistoryDiff(a, everywhere).equivalent)
        #expect(!HistoryDiff(a, everywhere, options: HistoryDiff.Options(strict: true)).equivalent)
        // Renamed in one transaction only (one that is not its first use): that pair changes.
        let uses = a.filter { $0.slotOps.contains { $0.slot == victim } }.map(\.sequence)
        try #require(uses.count >= 2)
        let once = renamed(a, only: uses[1])
        let diff = HistoryDiff(a, once)
        #expect(diff.changed.map(\.a) == [uses[1]])
        // Ignoring slot ids the transactions are alike, but the tables are not: B's
        // operation names a slot that is not there, so B keeps the victim.
        let ignoring = HistoryDiff(a, once, options: HistoryDiff.Options(ignored: [.slotIDs]))
        #expect(ignoring.changed.isEmpty && ignoring.equal == a.count)
        #expect(ignoring.firstMapDifference != nil && !ignoring.equivalent)
    }
}
