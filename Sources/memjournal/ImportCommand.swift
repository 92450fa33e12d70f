import ArgumentParser
import Journal

/// `memjournal import F.jsonl -o J`: rebuilds a journal from its canonical text
/// form, through the journal layer's own row writer.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Build a journal from a canonical JSONL file.",
        discussion: """
            The whole file is checked first (every field, line by line); a malformed line is \
            reported with its number and nothing is written. Cut-off transactions and the \
            clean-close state are kept, so exporting the new journal gives the same bytes back.
            Example:
              memjournal import run.jsonl -o copy.journal
            The output is never overwritten. Exit codes: 65 malformed input; 66 input missing; \
            74 output exists or cannot be written.
            """)

    @Argument(help: "The canonical JSONL file (written by `memjournal export`).") var input: String
    @Option(name: .shortAndLong, help: "The journal to create (never overwritten).") var output: String

    func run() throws {
        try withJournalErrors {
            try CanonicalJSONL.importFile(input, to: output)
        }
    }
}
