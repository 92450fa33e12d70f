import Foundation
import Analysis
import Harness
import JournalFormats
import JournalStore
import Memslots
import Replay
import Sync

/// What a reduction keeps: the failure a candidate history must still show.
public enum ReductionPredicate: Sendable, Hashable, CustomStringConvertible {
    /// Spurious faults when replayed (slot-ops, as recorded) on the simulated
    /// backend with `vcpus` vCPUs stepped from `seed`: deterministic.
    case faults(vcpus: Int, seed: UInt64)
    /// Replay in `mode` on the simulated backend diverges with the same kind of
    /// divergence at the same kind of slot operation as the input does.
    case divergence(mode: ReplayOptions.Mode)
    /// At least one non-atomic window that no inhibit covers.
    case hazard
    /// `command` (run by `/bin/sh -c`, every `{}` replaced by a candidate's JSONL
    /// path) exits 0.
    case command(String)

    public var description: String {
        switch self {
        case .faults(let vcpus, let seed): "faults (\(vcpus) stepped vCPUs, seed \(seed))"
        case .divergence(let mode): "divergence (\(mode.rawValue) replay)"
        case .hazard: "hazard"
        case .command(let command): "command `\(command)` exits 0"
        }
    }

    /// The test a candidate must pass, fixed by what `input` shows; nil with the
    /// reason when the input itself does not show the failure.
    public func test(for input: WalkedHistory) throws -> Result<FailureTest, NotShown> {
        switch self {
        case .faults(let vcpus, let seed):
            let faults = try Self.faults(input, vcpus: vcpus, seed: seed)
            guard faults > 0 else { return .failure(NotShown("has no spurious faults when replayed with \(vcpus) vCPUs stepped from seed \(seed)")) }
            return .success(FailureTest(description: "\(faults) spurious fault(s) with \(vcpus) vCPUs stepped from seed \(seed)") {
                try Self.faults($0, vcpus: vcpus, seed: seed) > 0
            })
        case .divergence(let mode):
            guard let found = try Self.divergence(input, mode: mode) else {
                return .failure(NotShown("does not diverge in \(mode.rawValue) replay"))
            }
            let what = found.signature
            return .success(FailureTest(
                description: "\(mode.rawValue) replay diverges: \(what.kind.rawValue)"
                    + (what.operation.map { " at a \($0.rawValue) operation" } ?? "")
                    + " (input: transaction \(found.divergence.sequence))"
            ) { try Self.divergence($0, mode: mode)?.signature == what })
        case .hazard:
            let unprotected = try Self.unprotectedWindows(input)
            guard unprotected > 0 else { return .failure(NotShown("has no unprotected non-atomic window")) }
            return .success(FailureTest(description: "\(unprotected) unprotected non-atomic window(s)") {
                try Self.unprotectedWindows($0) > 0
            })
        case .command(let command):
            let runner = try CommandRunner(command)
            guard try runner.holds(input) else { return .failure(NotShown("does not make `\(command)` exit 0")) }
            return .success(FailureTest(description: "`\(command)` exits 0") { try runner.holds($0) })
        }
    }

    /// Why the input does not show the failure, as a predicate on it ("does not diverge in …").
    public struct NotShown: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private static func faults(_ history: WalkedHistory, vcpus: Int, seed: UInt64) throws -> Int {
        var options = ReplayOptions(backend: .sim, mode: .slotOps, vcpus: vcpus)
        options.steppingSeed = seed
        let report = try ReplayEngine.run(ReplaySource(history, name: "candidate"), options: options)
        return report.statistics?.spuriousFaults ?? 0
    }

    private static func divergence(_ history: WalkedHistory, mode: ReplayOptions.Mode) throws
        -> (divergence: Divergence, signature: DivergenceSignature)?
    {
        let report = try ReplayEngine.run(ReplaySource(history, name: "candidate"),
                                          options: ReplayOptions(backend: .sim, mode: mode))
        guard let divergence = report.divergence else { return nil }
        var cursor = history.records.makeCursor(from: divergence.sequence, to: divergence.sequence)
        let record = try cursor.next()
        let operation = divergence.operation.flatMap { index in
            record.flatMap { index < $0.slotOps.count ? $0.slotOps[index].kind : nil }
        }
        return (divergence, DivergenceSignature(kind: divergence.kind, operation: operation))
    }

    /// Non-atomic windows no inhibit covers, counted as the history is walked.
    private static func unprotectedWindows(_ history: WalkedHistory) throws -> Int {
        var walker = HazardAnalysis.Walker(keepingReport: false)
        var cursor = history.records.makeCursor()
        while let record = try cursor.next() { walker.add(record) }
        return walker.summary.unprotected
    }
}

/// What "the same divergence" means for a reduction: its kind and the kind of
/// the recorded operation it concerns.
struct DivergenceSignature: Hashable {
    var kind: Divergence.Kind
    var operation: SlotOperation.Kind?
}

/// The failure a reduction keeps, as a test on candidate histories.
public struct FailureTest {
    /// What the input shows, in words.
    public let description: String
    let holds: (WalkedHistory) throws -> Bool
}

/// Runs a user's command on a candidate written as canonical JSONL.
struct CommandRunner {
    let command: String
    private let directory: TemporaryDirectory

    init(_ command: String) throws {
        self.command = command
        directory = try TemporaryDirectory(prefix: "memjournal-reduce")
    }

    /// Writes `history` to a fresh file and runs the command on it; true on exit 0.
    func holds(_ history: WalkedHistory) throws -> Bool {
        let path = directory.file("candidate.jsonl")
        unlink(path)
        defer { unlink(path) }
        try CanonicalJSONL.write(history, to: path)
        let quoted = "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command.replacingOccurrences(of: "{}", with: quoted)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .exit && process.terminationStatus == 0
    }
}
