import Foundation
import JournalFormats
import JournalStore
import Sync
import Testing
import TestSupport

/// Replays the inputs kept in `Fuzz/regressions/TARGET/` through the code each
/// libFuzzer target drives (Fuzz/Sources), uninstrumented: a crash kills the test
/// run. Inputs a fuzzer crashed on go there, and so do inputs its coverage
/// guidance found on the way (kept from a corpus merge), so the odd corners a
/// fuzzer reached stay exercised by every `swift test`.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/regressions")

    static func inputs(_ target: String) -> [String] {
        let dir = root.appendingPathComponent(target).path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir + "/" + $0 }
    }

    @Test func jsonlInputsAreReadOrRefusedAndRoundTrip() throws {
        let inputs = Self.inputs("FuzzJSONL")
        try #require(!inputs.isEmpty, "no regression inputs in \(Self.root.path)/FuzzJSONL")
        let dir = makeTemporaryDirectory()
        for (index, input) in inputs.enumerated() {
            guard let contents = try? CanonicalJSONL.read(input) else { continue }
            // Accepted: its canonical text reads back to the same contents and text.
            let text = CanonicalJSONL.encode(contents)
            let again = dir.file("again-\(index).jsonl")
            write(text, to: again)
            let reread = try CanonicalJSONL.read(again)
            #expect(reread == contents, "\(input)")
            #expect(CanonicalJSONL.encode(reread) == text, "\(input)")
        }
    }

    @Test func traceInputsAreImportedOrRefused() throws {
        let inputs = Self.inputs("FuzzQEMUTrace")
        try #require(!inputs.isEmpty, "no regression inputs in \(Self.root.path)/FuzzQEMUTrace")
        for input in inputs { _ = try? QEMUTraceImporter.read(input, lenient: true) }
    }

    @Test func journalInputsAreReadOrRefusedWithoutChange() throws {
        let inputs = Self.inputs("FuzzJournal")
        try #require(!inputs.isEmpty, "no regression inputs in \(Self.root.path)/FuzzJournal")
        let dir = makeTemporaryDirectory()
        for (index, input) in inputs.enumerated() {
            let path = dir.file("input-\(index).journal")
            let bytes = try #require(contents(input))
            write(bytes, to: path)
            if let reader = try? JournalReader(path: path, migration: .onPrivateCopy) {
                _ = try? reader.contents()
                _ = try? reader.summary()
                _ = try? JournalVerifier.verify(reader)
            }
            #expect(contents(path) == bytes, "reading \(input) changed it")
        }
    }
}
