import Foundation
import Testing
import TestSupport

/// A reader racing a live recorder (separate processes, as a user runs them)
/// never calls the healthy journal damaged, and says it is being written.
@Suite(.serialized) struct LiveReadTests {
    @Test func inspectingAJournalWhileItIsRecordedNeverCallsItDamaged() throws {
        let binary = JSONOutputTests.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no memjournal binary at \(binary)")
        let dir = makeTemporaryDirectory()
        let journal = dir.file("live.journal")
        let recorder = Process()
        recorder.executableURL = URL(fileURLWithPath: binary)
        recorder.arguments = ["record", "--scenario", "random", "--transactions", "2500", "--interval-us", "100",
                              "-o", journal]
        recorder.standardOutput = FileHandle.nullDevice
        try recorder.run()
        var reads = 0
        var beingWritten = 0
        var failures: [String] = []
        while recorder.isRunning {
            guard FileManager.default.fileExists(atPath: journal) else { continue }
            let (status, out, err) = try JSONOutputTests.runCapturing(["inspect", journal, "summary"])
            reads += 1
            if err.contains("is being written") { beingWritten += 1 }
            // Only the moment before the recorder created the file may fail (missing).
            if status != 0, !err.contains("no such journal file") { failures.append("exit \(status): \(err)\(out)") }
        }
        recorder.waitUntilExit()
        #expect(recorder.terminationStatus == 0)
        #expect(failures.isEmpty, "\(failures.count) of \(reads) reads failed; first: \(failures.first ?? "")")
        #expect(reads >= 10, "the recording ended before the reader could race it (\(reads) reads)")
        #expect(beingWritten > 0, "no read said the journal was being written")
        // Once closed, it reads in place and verifies whole.
        let (status, out, err) = try JSONOutputTests.runCapturing(["inspect", journal, "verify"])
        #expect(status == 0 && out.contains("intact") && err.isEmpty, "\(out)\(err)")
    }
}
