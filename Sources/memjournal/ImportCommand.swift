import ArgumentParser
import Foundation
import JournalFormats
import JournalStore

/// The input formats `import` understands.
enum ImportFormat: String, ExpressibleByArgument, CaseIterable {
    /// memjournal's canonical JSONL (`memjournal export`).
    case jsonl
    /// A QEMU log of `kvm_set_user_memory` trace events.
    case qemuTrace = "qemu-trace"
}

/// `memjournal import F -o J`: builds a journal from its canonical text form or
/// from a QEMU `kvm_set_user_memory` trace.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Build a journal from a canonical JSONL file or a QEMU kvm_set_user_memory trace.",
        discussion: """
            The format is detected from the first lines unless --format is given. JSONL is checked \
            first, every field, line by line; cut-off transactions and the clean-close state are \
            kept, so exporting the new journal gives the same bytes back. A QEMU trace is grouped into \
            listener transactions (a delete after an add starts a new one), its host addresses become \
            backings, and its timestamps are kept; other log lines are ignored, and a malformed \
            kvm_set_user_memory line is an error with its line number (or skipped and counted with \
            --lenient).
            Examples:
              memjournal import run.jsonl -o copy.journal
              memjournal import --format qemu-trace boot.log -o boot.journal
            The output is never overwritten. Exit codes: 65 malformed input; 66 input missing; \
            74 output exists or cannot be written.
            """)

    @Argument(help: "The file to import.") var input: String
    @Option(name: .shortAndLong, help: "The journal to create (never overwritten).") var output: String
    @Option(help: "jsonl or qemu-trace (detected when omitted).") var format: ImportFormat?
    @Flag(help: "QEMU traces: skip malformed kvm_set_user_memory lines, counting them.") var lenient = false

    func run() throws {
        try withJournalErrors {
            switch try format ?? detect() {
            case .jsonl:
                try CanonicalJSONL.importFile(input, to: output)
            case .qemuTrace:
                let result = try QEMUTraceImporter.read(input, lenient: lenient)
                try result.contents.writeJournal(to: output)
                print("imported \(result.events) kvm_set_user_memory event(s) as \(result.contents.records.count) "
                    + "transaction(s) over \(result.contents.backings.count) backing(s) into \(output)")
                if !result.skipped.isEmpty {
                    print("skipped \(result.skipped.count) malformed line(s): "
                        + result.skipped.prefix(5).map { "line \($0.line): \($0.detail)" }.joined(separator: "; "))
                }
            }
        }
    }

    /// The format of `input`, from its first lines: JSONL starts with an object.
    private func detect() throws(JournalError) -> ImportFormat {
        guard let handle = FileHandle(forReadingAtPath: input) else { throw .missing(path: input) }
        defer { try? handle.close() }
        var head = String(decoding: handle.readData(ofLength: 64 << 10), as: UTF8.self)
        // Past a byte-order mark and blank lines, which say nothing about the format.
        if head.hasPrefix("\u{FEFF}") { head.removeFirst() }
        let lines = head.split(separator: "\n", omittingEmptySubsequences: true)
        let first = lines.first { !$0.allSatisfy(\.isWhitespace) }
        if first?.drop(while: \.isWhitespace).hasPrefix("{") == true { return .jsonl }
        if QEMUTraceImporter.looksLikeTrace(lines) { return .qemuTrace }
        throw .unrecognized(
            path: input,
            detail: "neither memjournal JSONL (it starts with {\"format\":\"memjournal-jsonl\",…}) nor a QEMU log "
                + "with kvm_set_user_memory trace events; pass --format jsonl or --format qemu-trace if it is one")
    }
}
