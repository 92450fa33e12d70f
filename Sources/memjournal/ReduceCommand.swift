import ArgumentParser
import Foundation
import JournalFormats
import JournalStore
import Reduction
import Replay
import Sync

/// The failures `reduce --keep` names.
enum KeptFailure: String, ExpressibleByArgument, CaseIterable {
    case faults, divergence, hazard
}

extension Derivation: ExpressibleByArgument {}

/// `memjournal reduce J --keep P -o MIN.jsonl`: delta debugging from a failing
/// history to a 1-minimal regression fixture.
struct ReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reduce",
        abstract: "Reduce a failing history to a 1-minimal one that still fails, as a canonical JSONL fixture.",
        discussion: """
            Delta debugging (ddmin): whole transactions first, then the sections (or, for imported \
            traces, the ioctls) inside each, then merges of adjacent transactions, until a round \
            changes nothing; removing any one transaction of the result loses the failure. Every \
            candidate is re-derived, never edited: its slot operations come from running its \
            sections through a fresh listener on the simulated backend (--derive listener), or \
            for imported traces from the ioctls KVM would accept on the slots left so far \
            (--derive ioctls). Where a recorded transaction differs from what its sections give \
            (an edit, another backend's errno), the same difference is carried into every \
            candidate. A reduced history carries no times and no faults. Same input, same \
            predicate: the same bytes.
            --keep faults: spurious faults when replayed (slot-ops, as recorded) on the simulated \
            backend with --vcpus vCPUs stepped from --seed. --keep divergence: replay in --mode \
            diverges with the same kind at the same kind of slot operation as the input. --keep \
            hazard: an unprotected non-atomic window. --keep-cmd 'CMD {}': CMD exits 0 on a \
            candidate written as JSONL to the path that replaces {}.
            Examples:
              memjournal reduce run.journal --keep faults -o fixtures/min-faults.jsonl
              memjournal reduce edited.jsonl --keep divergence --mode slot-ops -o min.jsonl
              memjournal reduce boot.journal --keep hazard -o min-boot.jsonl
              memjournal reduce run.journal --keep-cmd 'memjournal inspect {} hazards --json | grep -q 0x100000' -o min.jsonl
            Exit codes: 0 reduced; 1 the input does not show the failure (nothing to reduce); \
            65 not a history, or a journal that fails verify; 66 missing; 74 -o exists.
            """)

    @Argument(help: "The journal or canonical JSONL history to reduce.") var journal: String
    @Option(help: "The failure to keep: faults, divergence or hazard.") var keep: KeptFailure?
    @Option(help: "Keep what this shell command says: exit 0 on the candidate file put for {}.") var keepCmd: String?
    @Option(name: .shortAndLong, help: "The JSONL fixture to write (never overwritten).") var output: String
    @Option(help: "--keep divergence: the replay mode, sections or slot-ops.") var mode: ReplayOptions.Mode = .sections
    @Option(help: "--keep faults: stepped vCPUs.") var vcpus: Int = 2
    @Option(help: "--keep faults: the stepping seed.") var seed: UInt64 = 1
    @Option(help: "listener or ioctls (default: ioctls for an imported trace, else listener).") var derive: Derivation?
    @Flag(help: "Skip the whole-journal check (inspect J verify) run first.") var noVerify = false

    func validate() throws {
        guard (keep == nil) != (keepCmd == nil) else {
            throw ValidationError("give exactly one of --keep faults|divergence|hazard and --keep-cmd 'CMD {}'")
        }
        if let keepCmd, !keepCmd.contains("{}") {
            throw ValidationError("--keep-cmd needs {} where the candidate's path goes")
        }
        guard (1...8).contains(vcpus) else { throw ValidationError("--vcpus must be between 1 and 8") }
    }

    private var predicate: ReductionPredicate {
        switch keep {
        case .faults: .faults(vcpus: vcpus, seed: seed)
        case .divergence: .divergence(mode: mode)
        case .hazard: .hazard
        case nil: .command(keepCmd ?? "")
        }
    }

    func run() throws {
        var standardError = StandardError()
        // Refused before the work, and again (atomically) when written.
        if FileManager.default.fileExists(atPath: output) || (try? FileManager.default.destinationOfSymbolicLink(atPath: output)) != nil {
            try withJournalErrors { throw JournalError.exists(path: output) }
        }
        // Read through a journal (a JSONL input imported into a private one), never held.
        let scratch = try withJournalErrors { () throws -> TemporaryDirectory in
            do { return try TemporaryDirectory(prefix: "memjournal-reduce") } catch {
                throw JournalError.writeFailed(path: TemporaryDirectory.base, reason: "\(error); set TMPDIR to a writable directory")
            }
        }
        let input = try withJournalErrors {
            try HistoryFile.indexed(journal, verify: !noVerify, scratch: scratch, note: printNote)
        }
        let name = (journal as NSString).lastPathComponent
        let predicate = predicate
        let test: FailureTest
        switch try predicate.test(for: input) {
        case .success(let found): test = found
        case .failure(let notShown):
            print("memjournal: nothing to reduce: \(journal) \(notShown)", to: &standardError)
            throw ExitStatus.found
        }
        let derivation = derive ?? .natural(for: input.header)
        let inputCount = try withJournalErrors { try input.transactionCount() }
        print("\(name): \(inputCount) transactions; keeping: \(test.description); "
            + "\(derivation.rawValue) derivation")
        let started = MonotonicClock.now()
        let progress = ProgressLine(json: false)
        let candidates = try withJournalErrors { try CandidateHistory(input, derivation: derivation) }
        let reduction = HistoryReduction(candidates, keeping: test) {
            phase, evaluated, size in
            progress.update("reducing: \(phase.rawValue), \(size) transactions, \(evaluated) candidates")
        }
        let outcome: HistoryReduction.Outcome
        do { outcome = try withJournalErrors { try reduction.run() } } catch let failure as HistoryReduction.Failure {
            progress.finish()
            print("memjournal: \(journal): \(failure)", to: &standardError)
            throw ExitStatus.found
        }
        progress.finish()
        for step in outcome.steps where step.candidates > 0 || step.before != step.after {
            let unit = step.phase == .parts ? (derivation == .listener ? "sections" : "ioctls") : "transactions"
            print("  \(step.phase.rawValue): \(step.before) → \(step.after) \(unit) (\(step.candidates) candidates)")
        }
        // The header stays the input's (how the history was recorded or imported,
        // which says how to derive it again); the comment says how it was reduced.
        var reduced = outcome.history
        var transactions = 0, sections = 0
        try withJournalErrors {
            var cursor = reduced.records.makeCursor()
            while let record = try cursor.next() {
                transactions += 1
                sections += record.sections.count
            }
        }
        let invocation = (["memjournal"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        reduced.header.comment = "reduced by `\(invocation)` from \(inputCount) transactions to "
            + "\(transactions); keeps \(predicate): \(test.description); \(derivation.rawValue) derivation; "
            + "1-minimal after \(outcome.evaluations) candidates"
        // The journal keeps at most 65,536 characters of it (a --keep-cmd can be long).
        reduced.header.comment = reduced.header.comment.map { String($0.prefix(60_000)) }
        try withJournalErrors { try CanonicalJSONL.write(reduced, to: output) }
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        print("wrote \(output): \(transactions) transaction(s), \(sections) section(s); "
            + "1-minimal; \(outcome.evaluations) candidates in \(String(format: "%.1f", seconds)) s")
    }
}
