import Foundation
import Testing
import Analysis
import Harness
import JournalFormats
import JournalStore
import Memslots
import Scenarios
import TestSupport
import Sync
@testable import Report

/// The HTML report, rendered by a real browser: the DOM it builds is checked
/// against the journal, not the HTML text that was written.
@Suite(Chromium.required) struct ReportTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    /// A `--no-inhibit` `split` recording with spurious faults (stepped vCPUs), as a journal.
    static func faultyJournal(in dir: TemporaryDirectory, transactions: Int = 120, scenario: ScenarioKind = .split)
        throws -> String
    {
        let path = dir.file("run.journal")
        var configuration = RunConfiguration(scenario: scenario, vcpus: 2, transactions: transactions, seed: 1, inhibit: false,
                                             vcpuMode: .stepping)
        configuration.drainTimeoutNs = nil
        try record(configuration, to: path)
        return path
    }

    static func report(_ journal: String, in dir: TemporaryDirectory, limits: ReportData.Limits = .init()) throws -> String {
        let output = dir.file("report.html")
        try HTMLReport.write(journal, to: output, limits: limits)
        return output
    }

    /// Control: the console check sees what a page logs, and an error it throws.
    @Test func theConsoleIsHeard() throws {
        let dir = makeTemporaryDirectory()
        let page = dir.file("noisy.html")
        try Data("<!DOCTYPE html><html><body><script>console.log('said'); undefinedFunction();</script></body></html>".utf8)
            .write(to: URL(fileURLWithPath: page))
        let (_, console) = try Chromium.render("file://" + page)
        #expect(console.contains { $0.contains("said") })
        #expect(console.contains { $0.contains("undefinedFunction") })
    }

    @Test func everyTransactionAndFaultHasItsMarkAndTheConsoleIsQuiet() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.faultyJournal(in: dir)
        let contents = try HistoryFile.contents(of: journal, verify: true)
        try #require(!contents.faults.isEmpty, "the control needs faults to draw")
        let (dom, console) = try Chromium.render("file://" + Self.report(journal, in: dir))
        #expect(dom.contains("data-rendered=\"yes\""), "the script ran to its end")
        #expect(console.isEmpty, "console: \(console)")
        #expect(DOM.count(dom, tag: "g", classStartingWith: "tx") == contents.records.count)
        #expect(DOM.count(dom, tag: "rect", classStartingWith: "fault") == contents.faults.count)
        #expect(DOM.count(dom, tag: "tr", classStartingWith: "fault-row") == contents.faults.count)
        // Every unprotected window has its row, and the marks of those transactions are red.
        let hazards = HazardAnalysis.analyse(contents.records)
        #expect(DOM.count(dom, tag: "tr", classStartingWith: "hazard-row") == hazards.transactions.filter { !$0.inhibited }.reduce(0) { $0 + $1.windows.count })
        #expect(DOM.count(dom, tag: "g", classStartingWith: "tx hazard") == hazards.transactions.filter { !$0.inhibited }.count)
        // The facts say what verify established.
        #expect(dom.contains("verified: intact, hash chain sealed at the clean close"))
    }

    @Test func theMemoryMapAtNIsWhatInspectMapPrints() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.faultyJournal(in: dir, transactions: 60, scenario: .pam)
        let page = try Self.report(journal, in: dir)
        let reader = try JournalReader(path: journal)
        let last = try #require(try reader.records().last?.sequence)
        for n in [1, last / 2, last] {
            let (dom, console) = try Chromium.render("file://\(page)#map=\(n)")
            #expect(console.isEmpty, "console: \(console)")
            #expect(DOM.text(dom, id: "map-seq") == "\(n)")
            let map = try #require(try reader.memoryMap(at: n))
            let sections = map.views.sorted { $0.key < $1.key }.flatMap { $0.value.map { "\($0)" } }
            let slots = map.slots.sorted { $0.key < $1.key }.flatMap { $0.value.map { "\($0)" } }
            #expect(DOM.texts(dom, tag: "li", class: "section") == sections, "map at \(n)")
            #expect(DOM.texts(dom, tag: "li", class: "slot") == slots, "slots at \(n)")
        }
    }

    @Test func clickingATransactionShowsItsSlotOperations() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.faultyJournal(in: dir, transactions: 40)
        let page = try Self.report(journal, in: dir)
        let records = try JournalReader(path: journal).records()
        // #tx=N clicks N's mark (a MouseEvent through the timeline's click handler).
        for record in [records[1], records[records.count / 2]] {
            let (dom, console) = try Chromium.render("file://\(page)#tx=\(record.sequence)")
            #expect(console.isEmpty, "console: \(console)")
            #expect(DOM.text(dom, id: "details") == TransactionDescription.lines(record).joined(separator: "\n"))
            #expect(dom.contains("class=\"tx selected\" id=\"tx-\(record.sequence)\"")
                    || dom.contains("class=\"tx hazard selected\" id=\"tx-\(record.sequence)\"")
                    || dom.contains("class=\"tx inhibited selected\" id=\"tx-\(record.sequence)\""), "the mark is selected")
            #expect(DOM.text(dom, id: "map-seq") == "\(record.sequence)", "the map follows the selection")
        }
        // Control: without a click nothing is described.
        let (dom, _) = try Chromium.render("file://\(page)")
        #expect(DOM.text(dom, id: "details") == "Click a transaction.")
    }

    @Test func aBigHistoryIsDrawnInBinsAndTheNotesSaySo() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.faultyJournal(in: dir, transactions: 700, scenario: .random)
        var limits = ReportData.Limits()
        limits.marks = 500
        limits.bins = 100
        limits.faults = 10
        limits.details = 50
        limits.notable = 20
        limits.tableRows = 30
        limits.maps = 40
        let page = try Self.report(journal, in: dir, limits: limits)
        let contents = try HistoryFile.contents(of: journal, verify: true)
        let (dom, console) = try Chromium.render("file://\(page)")
        #expect(console.isEmpty, "console: \(console)")
        #expect(DOM.count(dom, tag: "g", classStartingWith: "tx") == 0)
        let counts = DOM.attributes(dom, tag: "rect", class: "bin", attribute: "data-count").compactMap(Int.init)
        #expect(!counts.isEmpty && counts.count <= limits.bins)
        #expect(counts.reduce(0, +) == contents.records.count, "every transaction is in a bin")
        #expect(dom.contains("transactions: the timeline draws them in \(counts.count) bins"))
        try #require(contents.faults.count > limits.faults, "the faults must be binned too")
        let faultCounts = DOM.attributes(dom, tag: "rect", class: "fault-bin", attribute: "data-count").compactMap(Int.init)
        #expect(faultCounts.reduce(0, +) == contents.faults.count)
        #expect(dom.contains("faults: drawn in bins per vCPU"))
        #expect(DOM.count(dom, tag: "tr", classStartingWith: "fault-row") == limits.tableRows)
        #expect(dom.contains("\(contents.faults.count) faults: the table lists the first \(limits.tableRows)"))
    }

    @Test func anUntimedTraceIsLaidOutInOrderAndLoadsNothing() throws {
        let dir = makeTemporaryDirectory()
        let journal = dir.file("boot.journal")
        try QEMUTraceImporter.read(Self.fixtures + "/qemu/seabios-boot-qemu-7.2-no-timestamps.log").contents.writeJournal(to: journal)
        let page = try Self.report(journal, in: dir)
        let html = String(decoding: FileManager.default.contents(atPath: page) ?? Data(), as: UTF8.self)
        for forbidden in ["src=", "<link", "@import", "url(", "href=\"http", "fetch(", "XMLHttpRequest"] {
            #expect(!html.contains(forbidden), "the page must load nothing: it contains \(forbidden)")
        }
        let (dom, console) = try Chromium.render("file://\(page)")
        #expect(console.isEmpty, "console: \(console)")
        #expect(DOM.count(dom, tag: "g", classStartingWith: "tx") == 8)
        #expect(dom.contains("this history has no times"))
        // Never overwritten.
        let before = FileManager.default.contents(atPath: page)
        #expect(throws: JournalError.self) { try HTMLReport.write(journal, to: page) }
        #expect(FileManager.default.contents(atPath: page) == before)
    }
}
