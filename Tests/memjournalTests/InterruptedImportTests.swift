import Foundation
import Sync
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `import` killed with SIGKILL at random points: the output is either absent or
/// whole, and the next run clears what the killed one left and succeeds.
@Suite(.serialized) struct InterruptedImportTests {
    @Test func killedImportsLeaveNothingTheNextRunDoesNotClear() throws {
        let binary = JSONOutputTests.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no memjournal binary at \(binary)")
        let dir = makeTemporaryDirectory()
        let journal = dir.file("src.journal")
        let text = dir.file("src.jsonl")
        #expect(try JSONOutputTests.runCapturing(["record", "--scenario", "random", "--transactions", "3000",
                                                   "--vcpu-mode", "stepping", "-o", journal]).0 == 0)
        #expect(try JSONOutputTests.runCapturing(["export", journal, "-o", text]).0 == 0)
        let original = FileManager.default.contents(atPath: text)

        var rng = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0..<UInt64.max, using: &rng)
        var state = seed
        func nextDelay() -> UInt64 {  // SplitMix64, so a failure names its seed
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return (z ^ (z >> 31)) % 600_000_000
        }
        var killedMidway = 0
        for round in 0..<8 {
            let out = dir.file("out\(round).journal")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["import", text, "-o", out]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            MonotonicClock.sleep(nanoseconds: nextDelay())
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { killedMidway += 1 }

            // Absent, or whole.
            if FileManager.default.fileExists(atPath: out) {
                let back = dir.file("back\(round).jsonl")
                #expect(try JSONOutputTests.runCapturing(["export", out, "-o", back]).0 == 0, "seed \(seed) round \(round)")
                #expect(FileManager.default.contents(atPath: back) == original, "seed \(seed) round \(round)")
            } else {
                // The next run to the same path clears the debris and succeeds.
                let (status, _, err) = try JSONOutputTests.runCapturing(["import", text, "-o", out])
                #expect(status == 0, "seed \(seed) round \(round): \(err)")
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".partial-") }
            #expect(leftovers.filter { $0.hasPrefix("out\(round).journal") }.isEmpty,
                    "seed \(seed) round \(round): left \(leftovers)")
        }
        print("interrupted import: seed \(seed), \(killedMidway) of 8 imports killed mid-way")
        #expect(killedMidway > 0, "seed \(seed): no import was interrupted; the test saw nothing")
    }

    @Test func aKilledFixtureMakeLeavesWholeFixturesAndDebrisTheNextRunClears() throws {
        let binary = JSONOutputTests.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no memjournal binary at \(binary)")
        let dir = makeTemporaryDirectory()
        let fixtures = dir.file("fixtures")
        var interrupted = false
        for delay in [400_000_000, 900_000_000, 1_500_000_000] as [UInt64] where !interrupted {
            TemporaryDirectory.removeTree(fixtures)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["fixture", "make", fixtures]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            MonotonicClock.sleep(nanoseconds: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            interrupted = process.terminationReason == .uncaughtSignal
        }
        try #require(interrupted, "fixture make finished before every kill; the test saw nothing")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []
        // Every fixture there is whole: it imports.
        for name in names where name.hasSuffix(".jsonl") {
            let (status, _, err) = try JSONOutputTests.runCapturing(["import", fixtures + "/" + name, "-o", dir.file("\(name).journal")])
            #expect(status == 0, "\(name): \(err)")
        }
        // The next run removes what the killed one left (and refuses to overwrite the fixtures it finished).
        _ = try JSONOutputTests.runCapturing(["fixture", "make", fixtures])
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.contains(".partial-") }
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
