import ArgumentParser
import JournalFormats

/// The forms `export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case jsonl
    case chromeTrace = "chrome-trace"
}

/// `memjournal export J -o F`: the canonical text form of a journal
/// (docs/jsonl-format.md), for diffs, fixtures and bug reports; or its Trace
/// Event Format, for ui.perfetto.dev and chrome://tracing.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a journal's canonical JSONL text form, or a Chrome/Perfetto trace of it.",
        discussion: """
            jsonl (the default): one header line, then one line per transaction in sequence order \
            (sections, overlap decision, slot operations, faults, digest, outcome or cut-off). Times \
            are kept under "measured" keys, which comparisons ignore. Format: docs/jsonl-format.md.
            chrome-trace: the Trace Event Format that ui.perfetto.dev and chrome://tracing open: a \
            slice per transaction on a listener track per address space with its drain and apply \
            nested, its sections and slot operations in args; an instant per spurious fault on a \
            track per vCPU; a counter of installed slots.
            Examples:
              memjournal export run.journal -o run.jsonl
              memjournal export run.journal --format chrome-trace -o run.trace.json
            The journal is opened read-only (an older schema is migrated on a temporary copy) and \
            verified first (inspect J verify) unless --no-verify; the output is never overwritten. \
            Exit codes: 65 not a journal or damaged; 66 missing; 74 output exists or cannot be written.
            """)

    @Argument(help: "The journal file.") var journal: String
    @Option(name: .shortAndLong, help: "The file to write (never overwritten).") var output: String
    @Option(help: "jsonl or chrome-trace.") var format: ExportFormat = .jsonl
    @Flag(help: "Skip the whole-journal check (inspect J verify) that export runs first.") var noVerify = false

    func run() throws {
        try withJournalErrors {
            switch format {
            case .jsonl: try CanonicalJSONL.export(journal: journal, to: output, verify: !noVerify, note: printNote)
            case .chromeTrace: try ChromeTrace.export(journal: journal, to: output, verify: !noVerify, note: printNote)
            }
        }
    }
}
