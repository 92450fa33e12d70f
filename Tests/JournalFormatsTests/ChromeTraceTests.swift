import Foundation
import Harness
import JSON
import JournalFormats
import JournalStore
import Scenarios
import Sync
import Testing
import TestSupport

/// `export --format chrome-trace`: valid Trace Event Format, slices that nest
/// per track, and as many events of each kind as the journal has.
@Suite struct ChromeTraceTests {
    struct Event {
        var name: String
        var phase: String
        var tid: Int
        /// In whole nanoseconds (the format's microseconds carry three decimals).
        var ts: Int64?
        var dur: Int64?
        var category: String?
    }

    /// Parses the trace and checks the fields the format requires of each event.
    func events(_ path: String) throws -> [Event] {
        let root = try JSONParser.parse(try #require(contents(path)))
        guard case .object(let top) = root, case .array(let items)? = top.first(where: { $0.key == "traceEvents" })?.value else {
            Issue.record("no traceEvents array")
            return []
        }
        var events: [Event] = []
        for item in items {
            guard case .object(let fields) = item else { Issue.record("an event is not an object"); continue }
            func string(_ key: String) -> String? {
                if case .string(let s)? = fields.first(where: { $0.key == key })?.value { return s }
                return nil
            }
            func number(_ key: String) -> Double? {
                if case .number(let n)? = fields.first(where: { $0.key == key })?.value { return Double(n) }
                return nil
            }
            let name = try #require(string("name"), "event without a name: \(item.text)")
            let phase = try #require(string("ph"), "event without ph: \(item.text)")
            #expect(number("pid") != nil && number("tid") != nil, "\(item.text)")
            if phase != "M" { #expect(number("ts").map { $0 >= 0 } == true, "ts: \(item.text)") }
            if phase == "X" { #expect(number("dur").map { $0 >= 0 } == true, "dur: \(item.text)") }
            if phase == "i" { #expect(["t", "p", "g"].contains(string("s")), "scope: \(item.text)") }
            #expect(["M", "X", "i", "C"].contains(phase), "\(item.text)")
            func nanoseconds(_ key: String) -> Int64? { number(key).map { Int64(($0 * 1000).rounded()) } }
            events.append(Event(name: name, phase: phase, tid: Int(number("tid") ?? -1), ts: nanoseconds("ts"),
                                dur: nanoseconds("dur"), category: string("cat")))
        }
        return events
    }

    @Test func aJournalWithFaultsBecomesAWellFormedTrace() throws {
        let dir = makeTemporaryDirectory()
        let journal = dir.file("faults.journal")
        try record(RunConfiguration(scenario: .pam, vcpus: 2, transactions: 120, seed: 7, inhibit: false,
                                    vcpuMode: .stepping), to: journal)
        let inhibited = dir.file("inhibited.journal")
        try record(RunConfiguration(scenario: .split, vcpus: 2, transactions: 80, seed: 3, vcpuMode: .stepping), to: inhibited)
        for path in [journal, inhibited] {
            let trace = path + ".trace.json"
            try ChromeTrace.export(journal: path, to: trace)
            let contents = try JournalReader(path: path).contents()
            let events = try events(trace)

            // Counts match the journal.
            #expect(events.count { $0.category == "transaction" } == contents.records.count)
            #expect(events.count { $0.category == "apply" } == contents.records.count)
            #expect(events.count { $0.category == "drain" } == contents.records.count { $0.timing.inhibited })
            #expect(events.count { $0.phase == "i" } == contents.faults.count)
            #expect(events.count { $0.phase == "C" } == contents.records.count)
            #expect(Set(events.filter { $0.phase == "i" }.map(\.tid)) == Set(contents.faults.map { 1000 + $0.vcpu }))
            let named = Set(events.filter { $0.phase == "M" && $0.name == "thread_name" }.map(\.tid))
            #expect(Set(events.filter { $0.phase != "M" && $0.phase != "C" }.map(\.tid)).isSubset(of: named))

            // Per track, complete events nest: each starts after the previous one on
            // the stack ends, or lies inside it.
            for tid in Set(events.map(\.tid)) {
                let slices = events.filter { $0.tid == tid && $0.phase == "X" }
                    .sorted { ($0.ts!, -$0.dur!) < ($1.ts!, -$1.dur!) }
                var stack: [(Int64, Int64)] = []
                for slice in slices {
                    let (start, end) = (slice.ts!, slice.ts! + slice.dur!)
                    while let top = stack.last, top.1 <= start { stack.removeLast() }
                    if let top = stack.last {
                        #expect(start >= top.0 && end <= top.1, "track \(tid): \(slice.name) [\(start), \(end)] overlaps [\(top.0), \(top.1)] without nesting")
                    }
                    stack.append((start, end))
                }
            }
            if path == journal { #expect(contents.faults.count > 0, "the control journal should hold faults") }
        }
    }

    @Test func aHistoryWithoutTimesIsLaidOutInOrder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let log = root.appendingPathComponent("fixtures/qemu/seabios-boot-qemu-7.2-no-timestamps.log").path
        let contents = try QEMUTraceImporter.read(log).contents
        let dir = makeTemporaryDirectory()
        let trace = dir.file("untimed.json")
        var text = ""
        try ChromeTrace.encode(contents, name: log) { text += $0 }
        write(Array(text.utf8), to: trace)
        let slices = try events(trace).filter { $0.category == "transaction" }
        #expect(slices.count == contents.records.count)
        // One per millisecond, in sequence order, none overlapping the next.
        let starts = slices.compactMap(\.ts)
        #expect(starts == contents.records.map { Int64($0.sequence) * 1_000_000 })
        #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.ts! + $0.dur! <= $1.ts! })
    }

    @Test func anExistingOutputIsRefusedAndUntouched() throws {
        let dir = makeTemporaryDirectory()
        let journal = dir.file("j.journal")
        try record(RunConfiguration(scenario: .bar, vcpus: 1, transactions: 10, seed: 1, vcpuMode: .stepping), to: journal)
        let output = dir.file("taken.json")
        write(Array("keep me".utf8), to: output)
        #expect(throws: JournalError.self) { try ChromeTrace.export(journal: journal, to: output) }
        #expect(contents(output) == Array("keep me".utf8))
    }
}
