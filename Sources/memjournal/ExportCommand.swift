import ArgumentParser
import JournalFormats

/// `memjournal export J -o F.jsonl`: the canonical text form of a journal
/// (docs/jsonl-format.md), for diffs, fixtures and bug reports.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a journal's canonical JSONL text form.",
        discussion: """
            One header line, then one line per transaction in sequence order (sections, overlap \
            decision, slot operations, faults, digest, outcome or cut-off). Times are kept under \
            "measured" keys, which comparisons ignore. Format: docs/jsonl-format.md.
            Example:
              memjournal export run.journal -o run.jsonl
            The journal is opened read-only (an older schema is migrated on a temporary copy) and \
            verified first (inspect J verify) unless --no-verify; the output is never overwritten. Exit codes: 65 not a journal or damaged; 66 missing; \
            74 output exists or cannot be written.
            """)

    @Argument(help: "The journal file.") var journal: String
    @Option(name: .shortAndLong, help: "The JSONL file to write (never overwritten).") var output: String
    @Flag(help: "Skip the whole-journal check (inspect J verify) that export runs first.") var noVerify = false

    func run() throws {
        try withJournalErrors {
            try CanonicalJSONL.export(journal: journal, to: output, verify: !noVerify, note: printNote)
        }
    }
}
