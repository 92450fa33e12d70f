import MemoryModel
import Memslots
import Scenarios
import Testing
import TestSupport
import Harness
import JournalFormats
import JournalStore
import Sync
import Glibc

/// The canonical JSONL form: export → import → export is byte-identical, the
/// imported journal reads back equal to the original, cut-off state survives,
/// and malformed input is refused with the line that is wrong.
@Suite("Canonical JSONL")
struct CanonicalJSONLTests {
    /// Records `scenario` (stepping vCPUs, ~100 transactions, 64 slots for scale).
    static func recordJournal(_ scenario: ScenarioKind, inhibit: Bool, in dir: TemporaryDirectory) throws -> String {
        let path = dir.file("\(scenario.rawValue).journal")
        let configuration = RunConfiguration(
            scenario: scenario, options: ScenarioOptions(slots: 64), vcpus: 2, transactions: 100, seed: 7,
            inhibit: inhibit, vcpuMode: .stepping, operationDelayNs: 0)
        try record(configuration, to: path)
        return path
    }

    /// Compares two journals' contents field by field, so a failure names what differs.
    static func expectEqual(_ read: JournalContents, _ original: JournalContents, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(read.header == original.header, "header", sourceLocation: sourceLocation)
        #expect(read.backings == original.backings, "backings", sourceLocation: sourceLocation)
        #expect(read.regions == original.regions, "regions", sourceLocation: sourceLocation)
        #expect(read.recorderStatistics == original.recorderStatistics, "recorder statistics", sourceLocation: sourceLocation)
        #expect(read.faults == original.faults, "faults", sourceLocation: sourceLocation)
        #expect(read.cutOff == original.cutOff, "cut-off transactions", sourceLocation: sourceLocation)
        #expect(read.records.count == original.records.count, "record count", sourceLocation: sourceLocation)
        for (r, o) in zip(read.records, original.records) {
            let s = o.sequence
            #expect(r.sequence == o.sequence, sourceLocation: sourceLocation)
            #expect(r.addressSpace == o.addressSpace, "tx \(s) addressSpace", sourceLocation: sourceLocation)
            #expect(r.beginNs == o.beginNs, "tx \(s) beginNs", sourceLocation: sourceLocation)
            #expect(r.commitNs == o.commitNs, "tx \(s) commitNs", sourceLocation: sourceLocation)
            #expect(r.sections == o.sections, "tx \(s) sections", sourceLocation: sourceLocation)
            #expect(r.decision == o.decision, "tx \(s) decision", sourceLocation: sourceLocation)
            #expect(r.slotOps == o.slotOps, "tx \(s) slotOps", sourceLocation: sourceLocation)
            #expect(r.timing == o.timing, "tx \(s) timing", sourceLocation: sourceLocation)
            #expect(r.digest == o.digest, "tx \(s) digest", sourceLocation: sourceLocation)
        }
        #expect(read == original, sourceLocation: sourceLocation)
    }

    /// export(J), import it, export again: returns both texts and both journals' contents.
    static func roundTrip(_ journal: String, in dir: TemporaryDirectory, name: String) throws
        -> (first: [UInt8], second: [UInt8], original: JournalContents, imported: JournalContents)
    {
        let text1 = dir.file("\(name)-1.jsonl"), copy = dir.file("\(name)-copy.journal"), text2 = dir.file("\(name)-2.jsonl")
        try CanonicalJSONL.export(journal: journal, to: text1)
        try CanonicalJSONL.importFile(text1, to: copy)
        try CanonicalJSONL.export(journal: copy, to: text2)
        return (try #require(contents(text1)), try #require(contents(text2)),
                try JournalReader(path: journal).contents(), try JournalReader(path: copy).contents())
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test("export → import → export is byte-identical and reads back equal, for every scenario",
          arguments: ScenarioKind.allCases, [true, false])
    func scenarioRoundTrip(scenario: ScenarioKind, inhibit: Bool) throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.recordJournal(scenario, inhibit: inhibit, in: dir)
        let (first, second, original, imported) = try Self.roundTrip(journal, in: dir, name: scenario.rawValue)
        #expect(original.records.count >= 100)
        #expect(first == second, "\(scenario.rawValue): export(import(export(J))) differs from export(J)")
        Self.expectEqual(imported, original)

        // One header line, one line per transaction, one line per fault with no
        // transaction of the journal in flight; every fault is somewhere.
        let text = Self.lines(first)
        let faultLines = text.filter { $0.hasPrefix("{\"fault\":") }.count
        let loose = original.faults.count { f in f.transactionInFlight.map { t in !original.records.contains { $0.sequence == t } } ?? true }
        #expect(text.count == 1 + original.records.count + loose)
        #expect(faultLines == loose)
        #expect(text[0].hasPrefix("{\"format\":\"memjournal-jsonl\",\"version\":1,"))
        #expect(text.dropFirst().filter { $0.hasPrefix("{\"seq\":") }.count == original.records.count)
    }

    @Test("a cut-off transaction stays cut off through export and import")
    func cutOffKept() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.recordJournal(.pam, inhibit: true, in: dir)
        // Turn the last transaction into what a kill between the recorder's two
        // commits leaves: intent on disk, outcome NULL, no slot ops, no digest.
        let last = try #require(try JournalReader(path: journal).sequenceBounds()?.last)
        do {
            let database = try Database(path: journal, mode: .readWrite)
            try database.execute(cutOffSQL(sequence: last) + """
                UPDATE journal_header SET clean_close = 0, closed_unix_ns = NULL, seal = NULL,
                    sealed_transactions = NULL, sealed_faults = NULL;
                """)
        }
        let (first, second, original, imported) = try Self.roundTrip(journal, in: dir, name: "cut")
        #expect(original.cutOff.map(\.sequence) == [last])
        #expect(first == second)
        Self.expectEqual(imported, original)
        #expect(imported.cutOff.map(\.sequence) == [last], "the imported journal must keep the transaction cut off")
        #expect(!imported.header.cleanClose)
        let cutLine = try #require(Self.lines(first).last { $0.hasPrefix("{\"seq\":\(last),") })
        #expect(cutLine.contains("\"outcome\":\"cut_off\""))
        #expect(!cutLine.contains("\"slot_ops\"") && !cutLine.contains("\"digest\""))
        let summary = try JournalReader(path: dir.file("cut-copy.journal")).summary()
        #expect(summary.cutOff == 1 && !summary.cleanClose)
    }

    // MARK: Malformed input

    /// A valid export to tamper with, split into lines.
    static func validExport(in dir: TemporaryDirectory) throws -> [String] {
        let journal = try recordJournal(.split, inhibit: false, in: dir)
        let text = dir.file("valid.jsonl")
        try CanonicalJSONL.export(journal: journal, to: text)
        return lines(try #require(contents(text)))
    }

    /// Imports `text` and expects a malformed-input error naming `line` and
    /// containing `words`; the output journal must not exist afterwards.
    static func expectRefused(
        _ text: String, line: Int, mentioning words: String, in dir: TemporaryDirectory, name: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let input = dir.file("\(name).jsonl"), output = dir.file("\(name).journal")
        write(Array(text.utf8), to: input)
        do {
            try CanonicalJSONL.importFile(input, to: output)
            Issue.record("\(name): malformed input was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.line == line, "\(name): \(error)", sourceLocation: sourceLocation)
            #expect(error.exitCode == 65, sourceLocation: sourceLocation)
            #expect(error.path == input, sourceLocation: sourceLocation)
            let message = error.description
            #expect(message.contains("\(input):\(line):"), "\(message)", sourceLocation: sourceLocation)
            #expect(message.contains(words), "\(name): \(message)", sourceLocation: sourceLocation)
        }
        #expect(!fileExists(output), "\(name): a journal was left behind", sourceLocation: sourceLocation)
    }

    /// `lines` joined as a file, with the first `target` on line `line` (from 1) replaced.
    static func replacing(_ lines: [String], line: Int, _ target: String, with replacement: String) throws -> String {
        var copy = lines
        try #require(copy[line - 1].range(of: target) != nil, "test setup: line \(line) has no \(target)")
        copy[line - 1] = copy[line - 1].replacingFirst(target, with: replacement)
        return copy.joined(separator: "\n") + "\n"
    }

    @Test("malformed lines are refused with the file, the line and what is wrong")
    func malformed() throws {
        let dir = makeTemporaryDirectory()
        let lines = try Self.validExport(in: dir)
        // Line numbers (from 1) of transaction lines, complete ones first.
        let tx = lines.indices.filter { lines[$0].hasPrefix("{\"seq\":") && !lines[$0].contains("cut_off") }.map { $0 + 1 }
        try #require(tx.count > 10)
        let all = lines.joined(separator: "\n") + "\n"
        // The untouched text imports: each refusal below is caused by its edit alone.
        write(Array(all.utf8), to: dir.file("ok.jsonl"))
        try CanonicalJSONL.importFile(dir.file("ok.jsonl"), to: dir.file("ok.journal"))

        // Bad JSON.
        Self.expectRefused(try Self.replacing(lines, line: tx[1], "\"as\":0,", with: "\"as\":0,,"), line: tx[1],
                           mentioning: "invalid JSON", in: dir, name: "bad-json")
        Self.expectRefused("hello\n", line: 1, mentioning: "invalid JSON", in: dir, name: "not-json")
        Self.expectRefused("", line: 1, mentioning: "empty file", in: dir, name: "empty")
        Self.expectRefused("[1,2]\n", line: 1, mentioning: "not a memjournal JSONL file", in: dir, name: "not-header")
        // A missing key, an unknown key.
        Self.expectRefused(try Self.replacing(lines, line: tx[2], "\"as\":0,", with: ""), line: tx[2],
                           mentioning: "missing key \"as\"", in: dir, name: "missing-key")
        Self.expectRefused(try Self.replacing(lines, line: tx[2], "\"inhibited\":", with: "\"inhibted\":"), line: tx[2],
                           mentioning: "inhibited", in: dir, name: "misspelt-key")
        Self.expectRefused(try Self.replacing(lines, line: 1, "\"header\":{", with: "\"header\":{\"extra\":1,"), line: 1,
                           mentioning: "unknown key \"header.extra\"", in: dir, name: "unknown-key")
        // Wrong types.
        Self.expectRefused(try Self.replacing(lines, line: tx[3], "\"as\":0", with: "\"as\":\"0\""), line: tx[3],
                           mentioning: "as: expected an integer, found a string", in: dir, name: "wrong-type")
        Self.expectRefused(try Self.replacing(lines, line: tx[3], "\"start\":\"0x", with: "\"start\":\"1x"), line: tx[3],
                           mentioning: "not a \"0x…\" hex string", in: dir, name: "not-hex")
        Self.expectRefused(try Self.replacing(lines, line: tx[3], "\"errno\":0", with: "\"errno\":0.5"), line: tx[3],
                           mentioning: "is not an integer", in: dir, name: "fraction")
        // Overflowing numbers: never trap, always name the field.
        Self.expectRefused(try Self.replacing(lines, line: tx[4], "\"as\":0", with: "\"as\":99999999999999999999999"),
                           line: tx[4], mentioning: "out of range", in: dir, name: "overflow-int")
        Self.expectRefused(try Self.replacing(lines, line: tx[4], "\"as\":0", with: "\"as\":65536"),
                           line: tx[4], mentioning: "as: 65536 is out of range", in: dir, name: "overflow-u16")
        Self.expectRefused(try Self.replacing(lines, line: tx[5], "\"hash\":\"0x", with: "\"hash\":\"0x1ffffffffffffffff"),
                           line: tx[5], mentioning: "does not fit in 64 bits", in: dir, name: "overflow-hex")
        Self.expectRefused(try Self.replacing(lines, line: tx[5], "\"seq\":", with: "\"seq\":" + String(repeating: "9", count: 5000)),
                           line: tx[5], mentioning: "far too large", in: dir, name: "huge-number")
        Self.expectRefused(try Self.replacing(lines, line: tx[5], "\"slot\":", with: "\"slot\":4294967296"),
                           line: tx[5], mentioning: "out of range 0...4294967295", in: dir, name: "overflow-u32")
        // Inconsistent values.
        Self.expectRefused(try Self.replacing(lines, line: tx[6], "\"outcome\":\"ok\"", with: "\"outcome\":\"failed\""),
                           line: tx[6], mentioning: "contradicts slot_ops", in: dir, name: "outcome")
        let seqOf = { (line: Int) in String(lines[line - 1].prefix { $0 != "," }) }  // `{"seq":N`
        Self.expectRefused(try Self.replacing(lines, line: tx[7], seqOf(tx[7]), with: seqOf(tx[6])),
                           line: tx[7], mentioning: "increasing sequence order", in: dir, name: "order")
        let creating = try #require(tx.first { lines[$0 - 1].contains("\"kind\":\"create\"") })
        Self.expectRefused(try Self.replacing(lines, line: creating, "\"kind\":\"create\"", with: "\"kind\":\"resize\""),
                           line: creating, mentioning: "not one of", in: dir, name: "bad-enum")
        // Truncated: mid-line, and at a line boundary.
        let cut = lines[..<(tx[8] - 1)].joined(separator: "\n") + "\n" + lines[tx[8] - 1].prefix(40)
        Self.expectRefused(cut, line: tx[8], mentioning: "truncated", in: dir, name: "cut-mid-line")
        Self.expectRefused(lines[..<(tx[8] - 1)].joined(separator: "\n") + "\n", line: tx[8],
                           mentioning: "truncated", in: dir, name: "cut-at-line")
        // Unknown format version.
        Self.expectRefused(try Self.replacing(lines, line: 1, "\"version\":1", with: "\"version\":2"), line: 1,
                           mentioning: "format version 2 is not supported", in: dir, name: "version")
    }

    /// Lines are read and parsed (their slot operations too) on a reading thread
    /// ahead of the decoder: what is wrong is still reported as one thread would,
    /// the first wrong line first, and within a line in the decoder's order.
    @Test("errors are reported in line order and in the decoder's order, though lines are read on another thread")
    func errorsInOrderAcrossTheReadingThread() throws {
        let dir = makeTemporaryDirectory()
        let lines = try Self.validExport(in: dir)
        let tx = lines.indices.filter { lines[$0].hasPrefix("{\"seq\":") && !lines[$0].contains("cut_off") }.map { $0 + 1 }
        let creating = tx.filter { lines[$0 - 1].contains("\"kind\":\"create\"") }
        try #require(creating.count >= 3)
        let (line, next) = (creating[1], creating[2])
        let seqOf = { (line: Int) in String(lines[line - 1].prefix { $0 != "," }) }  // `{"seq":N`
        // A bad slot operation (read on the reading thread) in a line whose sequence
        // number is also wrong (checked by the decoder, first): the sequence is named.
        let badOp = try Self.replacing(lines, line: line, "\"kind\":\"create\"", with: "\"kind\":\"resize\"")
        let both = try Self.replacing(badOp.split(separator: "\n").map(String.init), line: line, seqOf(line),
                                      with: seqOf(line - 1))
        Self.expectRefused(both, line: line, mentioning: "increasing sequence order", in: dir, name: "order-first")
        // Control: the bad operation alone is named, at its element.
        Self.expectRefused(badOp, line: line, mentioning: "slot_ops[", in: dir, name: "op-alone")
        // Two wrong lines: the first is named, though the reader found the second's (a cut last line) first.
        var twoWrong = try Self.replacing(lines, line: next, "\"kind\":\"create\"", with: "\"kind\":\"resize\"")
        twoWrong.removeLast(10)
        Self.expectRefused(twoWrong, line: next, mentioning: "not one of", in: dir, name: "first-of-two")
        // An error on an early line of a long file stops the reader: the import
        // returns with that line, not a later one.
        let long = lines + Array(repeating: lines.dropFirst(), count: 200).joined()
        Self.expectRefused(try Self.replacing(long, line: tx[1], "\"as\":0,", with: "\"as\":0,,"), line: tx[1],
                           mentioning: "invalid JSON", in: dir, name: "early-in-long")
    }

    /// Replay and diff read a JSONL file a line at a time, walk after walk:
    /// each walk gives what reading it whole gives, and a file changed between
    /// walks is named, not half read.
    @Test("a JSONL file walked a line at a time gives what reading it whole gives")
    func walkedLineByLine() throws {
        let dir = makeTemporaryDirectory()
        // Without the inhibit: a history with faults, whose ids a walk does not gather again.
        let journal = try Self.recordJournal(.split, inhibit: false, in: dir)
        let text = dir.file("walked.jsonl")
        try CanonicalJSONL.export(journal: journal, to: text)
        let whole = try CanonicalJSONL.read(text)
        try #require(!whole.faults.isEmpty)
        let history = try CanonicalJSONL.records(text)
        #expect(history.header == whole.header && history.backings == whole.backings && history.cutOff == whole.cutOff.count)
        #expect(history.records.count == whole.records.count && history.records.path == text)
        for _ in 0..<2 {
            var walked: [TransactionRecord] = []
            try history.records.forEach { walked.append($0); return true }
            #expect(walked == whole.records)
        }
        func expectRefused(_ what: Comment) {
            #expect(what) {
                try history.records.forEach { _ in true }
            } throws: { error in
                guard let error = error as? JournalError else { return false }
                return error.path == text && error.description.contains("changed after it was checked")
                    && error.exitCode == 65
            }
        }
        // Replaced after the check by another valid history of the same length:
        // the walk refuses it rather than read what was never checked.
        let other = dir.file("other.jsonl")
        try CanonicalJSONL.export(journal: try Self.recordJournal(.hotplug, inhibit: true, in: dir), to: other)
        let original = try #require(contents(text))
        try #require(rename(other, text) == 0)
        expectRefused("a file replaced after the check")
        // The same bytes written back are a file written since: refused as well.
        try #require(unlink(text) == 0)
        write(original, to: text)
        expectRefused("a file rewritten after the check")
        // Cut short: refused before a line is read.
        var lines = Self.lines(original)
        lines.removeLast(3)
        try #require(unlink(text) == 0)
        write(Array((lines.joined(separator: "\n") + "\n").utf8), to: text)
        expectRefused("a file cut after the check")
        // Control: checked again, the rewritten file walks.
        try #require(unlink(text) == 0)
        write(original, to: text)
        var walked: [TransactionRecord] = []
        try CanonicalJSONL.records(text).records.forEach { walked.append($0); return true }
        #expect(walked == whole.records)
    }

    @Test("export and import never overwrite their output")
    func neverOverwrite() throws {
        let dir = makeTemporaryDirectory()
        let journal = try Self.recordJournal(.pam, inhibit: true, in: dir)
        let text = dir.file("out.jsonl")
        write(Array("keep".utf8), to: text)
        #expect(throws: JournalError.self) { try CanonicalJSONL.export(journal: journal, to: text) }
        #expect(contents(text) == Array("keep".utf8))
        do {
            try CanonicalJSONL.export(journal: journal, to: text)
        } catch {
            #expect(error.exitCode == 74)
        }
        try CanonicalJSONL.export(journal: journal, to: dir.file("fresh.jsonl"))
        #expect(throws: JournalError.self) { try CanonicalJSONL.importFile(dir.file("fresh.jsonl"), to: journal) }
        #expect(try JournalReader(path: journal).records().count >= 100)
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return self[..<r.lowerBound] + replacement + self[r.upperBound...]
    }

    func range(of target: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(target) { return i..<index(i, offsetBy: target.count) }
            i = index(after: i)
        }
        return nil
    }
}
