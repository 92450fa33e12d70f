import Memslots
import Scenarios
import Testing
import TestSupport
import Harness
import JournalStore
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Kill -9 while recording: every journal must open, pass quick_check, hold
/// every transaction whose batch was reported committed before the kill, and
/// flag cut-off transactions as such.
@Suite("Journal crash safety")
struct CrashTests {
    static let kills = 24

    @Test("SIGKILL at random points never loses a committed transaction")
    func killWhileRecording() async throws {
        var cutOffTotal = 0
        var killPoints: [UInt64] = []
        for _ in 0..<Self.kills {
            // The child records until it kills itself at a random moment; it
            // reports the journal path and, after each committed batch, the
            // highest sequence whose outcome is durable.
            let result = await #expect(processExitsWith: .signal(SIGKILL), observing: [\.standardOutputContent]) {
                CrashChild.run()
            }
            let output = String(decoding: try #require(result).standardOutputContent, as: UTF8.self)
            var path: String?
            var committed: UInt64 = 0
            var killAfterUs: UInt64 = 0
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ", maxSplits: 1).map(String.init)
                guard words.count == 2 else { continue }
                switch words[0] {
                case "journal": path = words[1]
                case "committed": committed = max(committed, UInt64(words[1]) ?? 0)
                case "kill-after-us": killAfterUs = UInt64(words[1]) ?? 0
                default: break
                }
            }
            let journal = try #require(path, "child did not report its journal: \(output)")
            defer {
                JournalSideFiles.removeAll(journal)
                rmdir(String(journal[..<(journal.lastIndex(of: "/") ?? journal.endIndex)]))
            }
            killPoints.append(killAfterUs)
            // What the killed recorder left: the journal and (in WAL mode) its side files.
            let left = ([journal] + JournalSideFiles.paths(of: journal)).map { ($0, contents($0)) }

            // Opens (read-only, defensive) and passes quick_check (JournalFile checks it).
            let reader = try JournalReader(path: journal)
            let summary = try reader.summary()
            #expect(!summary.cleanClose, "a killed recording must not look sealed")
            let complete = try reader.records().map(\.sequence)
            let cutOff = try reader.cutOffTransactions().map(\.sequence)
            // Everything reported committed is there, complete.
            if committed > 0 {
                #expect(Array(complete.prefix(Int(committed))) == Array(1...committed),
                        "journal \(journal): committed through \(committed), complete: \(complete.prefix(5))…\(complete.suffix(3))")
            }
            // Every transaction row is either complete or flagged cut off, with no gap.
            #expect(Set(complete).isDisjoint(with: cutOff))
            let written = UInt64(complete.count + cutOff.count)
            #expect((complete + cutOff).sorted() == Array(stride(from: 1, through: written, by: 1)))
            #expect(summary.cutOff == cutOff.count && summary.gaps == 0)
            // A cut-off transaction comes after every complete one (batches are ordered).
            if let firstCut = cutOff.first { #expect(firstCut > (complete.last ?? 0)) }
            cutOffTotal += cutOff.count
            // The hash chain holds through the kill: every complete transaction's link is
            // right, and the journal is unsealed, not damaged.
            #expect(try JournalVerifier.verify(reader).chain == .unsealed)
            // Reading recovered the -wal into a private copy: every file is as the kill left it.
            if (contents(journal + "-wal")?.count ?? 0) > 32 {
                #expect(reader.notes.contains { $0.contains("recovered into a private copy") }, "\(reader.notes)")
            }
            for (path, bytes) in left { #expect(contents(path) == bytes, "reading changed or created \(path)") }
        }
        print("crash test: \(Self.kills) kills at \(killPoints.sorted()) µs; \(cutOffTotal) cut-off transaction(s) flagged")
    }
}

/// The body of the recording child.
enum CrashChild {
    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }

    static func run() {
        var seedBytes: UInt64 = 0
        let fd = open("/dev/urandom", O_RDONLY)
        _ = read(fd, &seedBytes, 8)
        close(fd)
        var template = Array("\(TemporaryDirectory.base)/memjournal-crash-XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { exit(2) }
        let path = String(cString: dir) + "/crash.journal"
        let configuration = RunConfiguration(
            scenario: seedBytes & 1 == 0 ? .random : .split, vcpus: 2, transactions: 1_000_000, seed: seedBytes,
            inhibit: seedBytes & 2 == 0, vcpuMode: .stepping)
        let recorder: JournalRecorder
        do {
            recorder = try JournalRecorder(
                path: path, header: simHeader(configuration),
                options: .init(queueCapacity: 256, maxBatch: 1 + Int((seedBytes >> 8) % 64)) { last in
                    if let last { say("committed \(last)") }
                })
        } catch {
            say("error \(error)")
            exit(3)
        }
        say("journal \(path)")
        // Kill at a random moment 1–120 ms into the recording.
        let delayUs = 1_000 + (seedBytes >> 16) % 119_000
        say("kill-after-us \(delayUs)")
        _ = OSThread {
            MonotonicClock.sleep(nanoseconds: delayUs * 1000)
            kill(getpid(), SIGKILL)
        }
        do {
            let runner = try ScenarioRunner(configuration, observer: recorder)
            try runner.run()
        } catch {
            say("error \(error)")
        }
        kill(getpid(), SIGKILL)
    }
}
