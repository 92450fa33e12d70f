import MemoryModel
import Memslots
import Scenarios
import Testing
import TestSupport
import Analysis
import Harness
import JournalStore
import Sync

@Suite("Journal round trip")
struct RoundTripTests {
    /// Compares two records field by field, so a failure names the field.
    func expectEqual(_ read: TransactionRecord, _ recorded: TransactionRecord, sourceLocation: SourceLocation = #_sourceLocation) {
        let s = recorded.sequence
        #expect(read.sequence == recorded.sequence, sourceLocation: sourceLocation)
        #expect(read.addressSpace == recorded.addressSpace, "tx \(s) addressSpace", sourceLocation: sourceLocation)
        #expect(read.beginNs == recorded.beginNs, "tx \(s) beginNs", sourceLocation: sourceLocation)
        #expect(read.commitNs == recorded.commitNs, "tx \(s) commitNs", sourceLocation: sourceLocation)
        #expect(read.sections == recorded.sections, "tx \(s) sections", sourceLocation: sourceLocation)
        #expect(read.decision == recorded.decision, "tx \(s) decision", sourceLocation: sourceLocation)
        #expect(read.slotOps == recorded.slotOps, "tx \(s) slotOps", sourceLocation: sourceLocation)
        #expect(read.timing == recorded.timing, "tx \(s) timing", sourceLocation: sourceLocation)
        #expect(read.digest == recorded.digest, "tx \(s) digest", sourceLocation: sourceLocation)
        #expect(read == recorded, sourceLocation: sourceLocation)
    }

    @Test("a recorded scenario reads back equal to the in-memory records", arguments: [
        (ScenarioKind.random, true), (.pam, false), (.dirtyLog, true), (.split, false),
    ])
    func roundTrip(scenario: ScenarioKind, inhibit: Bool) throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("run.journal")
        let configuration = RunConfiguration(
            scenario: scenario, vcpus: 2, transactions: 150, seed: 42, inhibit: inhibit, vcpuMode: .stepping)
        let (runner, statistics, initialRegions) = try record(configuration, to: path, options: .init(queueCapacity: 64, maxBatch: 16))
        let recorded = runner.records
        #expect(recorded.count >= 150)
        #expect(statistics.transactionsWritten == recorded.count)

        let reader = try JournalReader(path: path)
        let read = try reader.records()
        try #require(read.count == recorded.count)
        for (r, w) in zip(read, recorded) { expectEqual(r, w) }
        #expect(try reader.faults() == runner.collector.faults)
        #expect(try reader.cutOffTransactions().isEmpty)
        #expect(try reader.backings() == runner.machine.backings)
        #expect(try reader.regions() == initialRegions)

        let header = try reader.header()
        var expected = simHeader(configuration)
        expected.createdUnixNs = header.createdUnixNs
        expected.closedUnixNs = header.closedUnixNs
        expected.cleanClose = true
        #expect(header == expected)
        #expect(header.closedUnixNs != nil)

        let summary = try reader.summary()
        #expect(summary.transactions == recorded.count)
        #expect(summary.cutOff == 0 && summary.gaps == 0 && summary.cleanClose)
        #expect(summary.faults == runner.collector.faults.count)
        #expect(summary.inhibited == recorded.count { $0.timing.inhibited })
        #expect(try reader.record(recorded[3].sequence) == recorded[3])
        #expect(try reader.records(from: 10, to: 19).map(\.sequence) == Array(10...19))
        #expect(try reader.recorderStatistics()?.lastSequence == recorded.last?.sequence)
        // The slot table rebuilt from the journal's slot operations matches the recorded digest.
        for sequence in stride(from: UInt64(1), through: UInt64(recorded.count), by: 37) {
            let map = try #require(try reader.memoryMap(at: sequence))
            #expect(map.digestMatches, "slot table rebuilt after \(sequence) differs from the recorded digest")
        }
    }

    @Test("faults of a run without the inhibit are journaled")
    func faultsRoundTrip() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("faults.journal")
        let configuration = RunConfiguration(
            scenario: .split, vcpus: 2, transactions: 300, seed: 3, inhibit: false, vcpuMode: .stepping)
        let (runner, _, _) = try record(configuration, to: path)
        let faults = runner.collector.faults
        #expect(!faults.isEmpty, "the split scenario without inhibit should fault")
        #expect(try JournalReader(path: path).faults() == faults)
    }

    @Test("u64 values at and above 2^63 survive the trip (bit-pattern storage)")
    func extremeValues() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("u64.journal")
        let top = try GuestRange(start: UInt64.max - 0xfff, last: .max)
        let high = try GuestRange(start: 1 << 63, size: 0x2000)
        let section = MemorySection(
            range: top, regionName: "top \"quoted\" ünïcode", kind: .romDevice,
            backing: BackingLocation(backing: .max, offset: .max - 1), readOnly: true, romd: true, dirtyLog: true)
        let mmio = MemorySection(range: high, regionName: "mmio", kind: .mmio, backing: nil, readOnly: false, romd: false, dirtyLog: false)
        let record = TransactionRecord(
            sequence: 1, addressSpace: .max, beginNs: .max, commitNs: 1 << 63,
            sections: [SectionChange(.delete, mmio), SectionChange(.add, section), SectionChange(.logStop, section)],
            decision: OverlapDecision(pair: .init(deleteIndex: 0, addIndex: 0, deleted: high, added: top)),
            slotOps: [SlotOperation(
                kind: .move, slot: SlotID(rawValue: .max), range: top,
                host: BackingLocation(backing: .max, offset: .max), flags: SlotFlags(rawValue: .max),
                errno: 22, durationNs: .max)],
            timing: InhibitTiming(inhibited: true, drainNs: .max, applyNs: 1 << 63, inhibitNs: .max - 1, vcpusKicked: 64),
            digest: SlotTableDigest(count: 32_764, hash: .max))
        let fault = SpuriousFault(vcpu: 63, gpa: .max, isWrite: true, timeNs: .max, transactionInFlight: .max)
        let configuration = RunConfiguration(scenario: .pam)
        let recorder = try JournalRecorder(path: path, header: simHeader(configuration))
        recorder.transactionCommitted(record)
        recorder.spuriousFault(fault)
        try recorder.close()
        let reader = try JournalReader(path: path)
        #expect(try reader.records() == [record])
        #expect(try reader.faults() == [fault])
        #expect(try reader.summary().failedOperations == 1)
    }

    @Test("a journal rebuilt from its contents has the recorded journal's rows, table by table")
    func rebuiltJournalHasTheRecordedRows() throws {
        let dir = makeTemporaryDirectory()
        let recorded = dir.file("recorded.journal")
        let rebuilt = dir.file("rebuilt.journal")
        // Without the inhibit, so faults (chained in id order by the builder) are rows too.
        let configuration = RunConfiguration(
            scenario: .split, vcpus: 2, transactions: 300, seed: 3, inhibit: false, vcpuMode: .stepping)
        _ = try record(configuration, to: recorded)
        // The recorder writes each transaction's intent, then updates it with its
        // outcome; the builder inserts each once, whole.
        try JournalReader(path: recorded).contents().writeJournal(to: rebuilt)
        let tables = try Self.rows(recorded)
        #expect(tables["faults"]?.isEmpty == false && tables["transactions"]?.count ?? 0 > 300)
        #expect(Set(tables.keys) == Set(try Self.rows(rebuilt).keys))
        for (table, rows) in try Self.rows(rebuilt) {
            #expect(rows == tables[table], "table \(table) differs")
        }
    }

    /// Every row of every table of the journal at `path`, each as the SQL
    /// literals of its columns, in primary-key order.
    static func rows(_ path: String) throws -> [String: [String]] {
        let database = try Database(path: path, mode: .readOnly)
        var result: [String: [String]] = [:]
        for table in try database.texts(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        {
            let columns = try database.texts("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid")
            let key = try database.texts("SELECT name FROM pragma_table_info('\(table)') WHERE pk > 0 ORDER BY pk")
            result[table] = try database.texts("""
                SELECT \(columns.map { "quote(\($0))" }.joined(separator: " || '|' || ")) FROM \(table)
                ORDER BY \(key.isEmpty ? "rowid" : key.joined(separator: ", "))
                """)
        }
        return result
    }
}
