import Foundation
import Sync
import Testing
import TestSupport

/// What `import` and `inspect` say about input that is not what they expected:
/// the true category, the file, and what to do.
@Suite(.serialized) struct ImportMessageTests {
    static let fixtures: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures").path
    }()

    func run(_ arguments: [String]) throws -> (Int32, String, String) { try JSONOutputTests.runCapturing(arguments) }

    func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

    func write(_ bytes: [UInt8], _ path: String) { FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    @Test func jsonlWithAByteOrderMarkAndBlankLinesIsReadAsItsContent() throws {
        let dir = makeTemporaryDirectory()
        let original = bytes(Self.fixtures + "/pam.jsonl")
        try #require(!original.isEmpty)
        write(bom + Array("\n\r\n".utf8) + original, dir.file("bom.jsonl"))
        let (status, _, err) = try run(["import", dir.file("bom.jsonl"), "-o", dir.file("j.journal")])
        #expect(status == 0, "\(err)")
        #expect(try run(["export", dir.file("j.journal"), "-o", dir.file("back.jsonl")]).0 == 0)
        #expect(bytes(dir.file("back.jsonl")) == original)
    }

    @Test func aTraceWithAByteOrderMarkIsImported() throws {
        let dir = makeTemporaryDirectory()
        let trace = bytes(Self.fixtures + "/qemu/seabios-boot-qemu-7.2.log")
        try #require(!trace.isEmpty)
        write(bom + Array("\n".utf8) + trace, dir.file("boot.log"))
        let (status, out, err) = try run(["import", dir.file("boot.log"), "-o", dir.file("boot.journal")])
        #expect(status == 0, "\(err)")
        // The same events as the file without the mark.
        let (plainStatus, plain, _) = try run(["import", Self.fixtures + "/qemu/seabios-boot-qemu-7.2.log", "-o", dir.file("plain.journal")])
        #expect(plainStatus == 0)
        let summary = { (text: String) in text.components(separatedBy: " into ").first ?? "" }
        #expect(summary(out) == summary(plain) && out.hasPrefix("imported "), "\(out) vs \(plain)")
    }

    @Test func aTraceWithoutEventsSaysSoWithTheLinesRead() throws {
        let dir = makeTemporaryDirectory()
        write(Array("qemu-system-x86_64: starting\nanother line\n".utf8), dir.file("quiet.log"))
        let (status, _, err) = try run(["import", "--format", "qemu-trace", dir.file("quiet.log"), "-o", dir.file("q.journal")])
        #expect(status == 65)
        #expect(err.contains("no kvm_set_user_memory events in \(dir.file("quiet.log")) (2 lines read)"), "\(err)")
        #expect(!err.contains("journal holds invalid data"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("q.journal")))
    }

    @Test func aFileOfNeitherFormatIsNamedAsSuch() throws {
        let dir = makeTemporaryDirectory()
        write(Array("\u{FEFF}\n\nhello, world\n".utf8), dir.file("notes.txt"))
        let (status, _, err) = try run(["import", dir.file("notes.txt"), "-o", dir.file("n.journal")])
        #expect(status == 65)
        #expect(err.contains("\(dir.file("notes.txt")): not a file memjournal can import"), "\(err)")
        #expect(!err.contains("journal holds invalid data"))
    }

    @Test func showingATransactionThatIsNotThereIsAUsageErrorWithTheValidRange() throws {
        let dir = makeTemporaryDirectory()
        #expect(try run(["import", Self.fixtures + "/dirty-log.jsonl", "-o", dir.file("d.journal")]).0 == 0)
        let (status, _, err) = try run(["inspect", dir.file("d.journal"), "show", "99999"])
        #expect(status == 64)
        #expect(err.contains("no transaction 99999: it holds transactions 1…151"), "\(err)")
    }
}
