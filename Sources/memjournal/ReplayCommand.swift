import Harness
import JSON
import ArgumentParser
import Foundation
import Memslots
import Replay
import JournalFormats

extension ReplayOptions.Mode: ExpressibleByArgument {}

/// What replay needs, from a journal (verified first unless `verify` is false)
/// or its JSONL form, the transactions read as the replay reaches them.
func replaySource(journal path: String, verify: Bool) throws -> (ReplaySource, cutOff: Int) {
    try withJournalErrors {
        let history = try HistoryFile.records(of: path, verify: verify, note: printNote)
        return (ReplaySource(name: path, backings: history.backings, records: history.records,
                             maxSlotSize: history.header.maxSlotSize, inhibit: history.header.inhibit,
                             wait: history.header.wait), history.cutOff)
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-apply a journal to a fresh VM and report the first divergence (exit 1).",
        discussion: """
            sections mode feeds the recorded deletes and adds through a fresh listener (checks the VMM \
            core); slot-ops mode re-issues the recorded slot operations (checks the backend or KVM).
            The journal is verified first (inspect J verify) and refused when damaged (exit 65) \
            unless --no-verify is given.
            Example: memjournal replay split.journal --backend kvm --mode slot-ops --vcpus 2
            """
    )

    @Argument(help: "The journal to replay.") var journal: String
    @Option(help: "Backend: sim or kvm.") var backend: Backend = .sim
    @Option(help: "sections or slot-ops.") var mode: ReplayOptions.Mode = .sections
    @Option(help: "vCPUs touching the memory that stays memory while replaying.") var vcpus: Int = 0
    @Option(help: "First transaction to compare.") var from: UInt64?
    @Option(help: "Last transaction to compare.") var to: UInt64?
    @Flag(help: "slot-ops mode: apply each transaction under the inhibit, whatever was recorded.")
    var atomic = false
    @Option(help: "Longest a single transaction may take, in seconds.") var deadline: UInt64 = 30
    @Option(help: "With --vcpus: pause between transactions in µs, so vCPUs run between inhibits.")
    var intervalUs: UInt64 = 100
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Skip the whole-journal check (inspect J verify) that replay runs first; a gap in the history is then reported as the first divergence.")
    var noVerify = false

    func validate() throws {
        do { try VCPULimit.check(vcpus, allowingNone: true) } catch { throw ValidationError(error.description) }
        if let from, let to, from > to { throw ValidationError("--from \(from) is after --to \(to)") }
        guard deadline >= 1 else { throw ValidationError("--deadline must be at least 1 second") }
    }

    func run() throws {
        let (source, cutOff) = try replaySource(journal: journal, verify: !noVerify)
        var options = ReplayOptions(
            backend: backend, mode: mode, vcpus: vcpus, from: from, to: to, atomic: atomic,
            deadlineNs: deadline * 1_000_000_000)
        options.intervalNs = intervalUs * 1000
        let report: ReplayReport
        let progressLine = ProgressLine(json: json)
        do {
            report = try ReplayEngine.run(source, options: options) { applied, total in
                progressLine.update("\(applied)\(total.map { "/\($0)" } ?? "") transactions replayed")
            }
            progressLine.finish()
        } catch let error as ReplayError {
            var standardError = StandardError()
            print("memjournal: \(journal): \(error)", to: &standardError)
            throw ExitStatus.dataError
        }
        let summary = ReplaySummary(report, journal: journal, cutOff: cutOff)
        print(json ? summary.json.text : summary.text)
        if report.divergence != nil || report.vcpuFailure != nil { throw ExitStatus.found }
    }
}

/// A replay report for people (text) and programs (JSON).
struct ReplaySummary {
    var journal: String
    var backend: String
    var mode: String
    var applied: Int
    var compared: Int
    var firstCompared: UInt64?
    var lastCompared: UInt64?
    var cutOffSkipped: Int
    var transactionsPerSecond: Double
    var finalDigest: String?
    var vcpus: Int
    var vcpuTargets: Int
    var vcpuAccesses: Int?
    var spuriousFaults: Int?
    var vcpuFailure: String?
    var divergence: DivergenceJSON?

    struct DivergenceJSON {
        var sequence: UInt64
        var addressSpace: UInt16
        var operation: Int?
        var kind: String
        var expected: String
        var actual: String
        var slotsAround: [String]
        var explanation: String?

        var json: JSONValue {
            .sortedObject([
                ("sequence", .int(sequence)), ("addressSpace", .int(addressSpace)),
                ("operation", .optional(operation) { .int($0) }), ("kind", .string(kind)),
                ("expected", .string(expected)), ("actual", .string(actual)),
                ("slotsAround", .array(slotsAround.map(JSONValue.string))),
                ("explanation", .optional(explanation, JSONValue.string)),
            ])
        }
    }

    /// One line, keys sorted (absent values are null).
    var json: JSONValue {
        .sortedObject([
            ("journal", .string(journal)), ("backend", .string(backend)), ("mode", .string(mode)),
            ("applied", .int(applied)), ("compared", .int(compared)),
            ("firstCompared", .optional(firstCompared) { .int($0) }),
            ("lastCompared", .optional(lastCompared) { .int($0) }), ("cutOffSkipped", .int(cutOffSkipped)),
            ("transactionsPerSecond", .decimal(transactionsPerSecond)),
            ("finalDigest", .optional(finalDigest, JSONValue.string)), ("vcpus", .int(vcpus)),
            ("vcpuTargets", .int(vcpuTargets)), ("vcpuAccesses", .optional(vcpuAccesses) { .int($0) }),
            ("spuriousFaults", .optional(spuriousFaults) { .int($0) }),
            ("vcpuFailure", .optional(vcpuFailure, JSONValue.string)), ("divergence", .optional(divergence, \.json)),
        ])
    }

    init(_ report: ReplayReport, journal: String, cutOff: Int) {
        self.journal = journal
        backend = report.backend.rawValue
        mode = report.mode.rawValue
        applied = report.applied
        compared = report.compared
        firstCompared = report.firstCompared
        lastCompared = report.lastCompared
        cutOffSkipped = cutOff
        transactionsPerSecond = report.transactionsPerSecond
        finalDigest = report.finalDigest.map { "\($0)" }
        vcpus = report.vcpus
        vcpuTargets = report.vcpuTargets
        vcpuAccesses = report.statistics?.accesses
        spuriousFaults = report.statistics?.spuriousFaults
        vcpuFailure = report.vcpuFailure
        divergence = report.divergence.map {
            DivergenceJSON(sequence: $0.sequence, addressSpace: $0.addressSpace, operation: $0.operation,
                           kind: $0.kind.rawValue, expected: $0.expected, actual: $0.actual,
                           slotsAround: $0.slotsAround.map(\.description), explanation: $0.explanation)
        }
    }

    var text: String {
        var lines = ["replay of \(journal) on \(backend), \(mode) mode: \(applied) transaction(s) applied, "
            + "\(compared) compared" + (firstCompared.map { " (\($0)…\(lastCompared ?? $0))" } ?? "")]
        if cutOffSkipped > 0 { lines.append("  \(cutOffSkipped) cut-off transaction(s) in the journal were not replayed") }
        lines.append(String(format: "  %.0f transactions/s", transactionsPerSecond))
        if let finalDigest { lines.append("  final slot table \(finalDigest)") }
        if vcpus > 0 {
            lines.append("  \(vcpus) vCPU(s) on \(vcpuTargets) staying-memory address(es): "
                + "\(spuriousFaults ?? 0) spurious fault(s) in \(vcpuAccesses ?? 0) accesses")
        }
        if let vcpuFailure { lines.append("  vCPU FAILURE: \(vcpuFailure)") }
        if let d = divergence {
            lines.append("DIVERGENCE at transaction \(d.sequence) (address space \(d.addressSpace))"
                + (d.operation.map { ", slot operation \($0)" } ?? "") + ": \(d.kind)")
            lines.append("  expected: \(d.expected)")
            lines.append("  actual:   \(d.actual)")
            if let why = d.explanation { lines.append("  why:      \(why)") }
            if !d.slotsAround.isEmpty {
                lines.append("  slot table around it:")
                lines += d.slotsAround.map { "    \($0)" }
            }
        } else {
            lines.append("  no divergence")
        }
        return lines.joined(separator: "\n")
    }

}
