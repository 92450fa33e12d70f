import ArgumentParser
import Report

/// `memjournal report J -o J.html`: the journal as a self-contained HTML page.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a journal (or its JSONL form).",
        discussion: """
            One file with its CSS, script and data inline (it loads nothing; open it offline or attach \
            it to a bug report): the header facts and what verify established; a timeline of the \
            transactions (begin to commit, drain and apply shaded, inhibited or not, unprotected \
            windows in red) with spurious faults on a lane per vCPU, zoom and pan with the wheel, a \
            drag or the keys, a transaction's description (as inspect show prints it) on hover and \
            click; histograms of inhibit, drain, apply and slot-operation times (log scale, p50 and \
            p99); the memory map after any transaction (the flat view as a bar by kind, the slot \
            table, what the transaction changed); tables of hazards and faults linking to their \
            transactions. Past 5,000 transactions the timeline draws bins and the page says so; \
            J.html#tx=N opens on transaction N, J.html#map=N on the map after it.
            Examples:
              memjournal report split.journal -o split.html
              memjournal report boot.journal -o boot.html --no-verify
            Exit codes: 65 not a journal or damaged; 66 missing; 74 output exists or cannot be written.
            """)

    @Argument(help: "The journal (or canonical JSONL) to report on.") var journal: String
    @Option(name: .shortAndLong, help: "The HTML file to write (never overwritten).") var output: String
    @Flag(help: "Skip the whole-journal check (inspect J verify) run first.") var noVerify = false

    func run() throws {
        try withJournalErrors { try HTMLReport.write(journal, to: output, verify: !noVerify, note: printNote) }
    }
}
