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
    /// `strace -f -ttt -e trace=ioctl -e kvm=vcpu` output (statically linked VMMs).
    case strace
}

/// `memjournal import F -o J`: builds a journal from its canonical text form or
/// from a QEMU `kvm_set_user_memory` trace.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Build a journal from a canonical JSONL file, a QEMU kvm_set_user_memory trace or an strace log.",
        discussion: """
            The format is detected from the first lines unless --format is given. JSONL is checked \
            first, every field, line by line; cut-off transactions and the clean-close state are \
            kept, so exporting the new journal gives the same bytes back. A QEMU trace is grouped into \
            listener transactions (a delete after an add starts a new one), its host addresses become \
            backings, and its timestamps are kept; other log lines are ignored, and a malformed \
            kvm_set_user_memory line is an error with its line number (or skipped and counted with \
            --lenient). An strace log (strace -f -ttt -e trace=ioctl -e kvm=vcpu -o LOG VMM…, the way \
            to see a statically linked VMM) is read the same way: its KVM_SET_USER_MEMORY_REGION calls \
            become transactions (calls split into <unfinished ...> and <... resumed> are joined by pid), \
            and the exits KVM_RUN returned with are counted by reason and per transaction window; strace \
            shows no GPA, so no exit can be called spurious. A line that is cut, interleaved or unknown \
            is an error with its line number, or skipped with --lenient; nothing is half-imported.
            Examples:
              memjournal import run.jsonl -o copy.journal
              memjournal import --format qemu-trace boot.log -o boot.journal
              memjournal import --format strace firecracker.strace -o fc.journal
            The output is never overwritten. Exit codes: 65 malformed input; 66 input missing; \
            74 output exists or cannot be written.
            """)

    @Argument(help: "The file to import.") var input: String
    @Option(name: .shortAndLong, help: "The journal to create (never overwritten).") var output: String
    @Option(help: "jsonl, qemu-trace or strace (detected when omitted).") var format: ImportFormat?
    @Flag(help: "QEMU traces and strace logs: skip malformed lines, counting them.") var lenient = false

    func run() throws {
        try withJournalErrors {
            switch try format ?? detect() {
            case .jsonl:
                try CanonicalJSONL.importFile(input, to: output)
            case .qemuTrace:
                let result = try QEMUTraceImporter.importFile(input, to: output, lenient: lenient)
                print("imported \(result.events) kvm_set_user_memory event(s) as \(result.transactions) "
                    + "transaction(s) over \(result.backings) backing(s) into \(output)")
                printSkipped(result.skipped)
            case .strace:
                let result = try StraceImporter.importFile(input, to: output, lenient: lenient)
                print("imported \(result.calls) KVM_SET_USER_MEMORY_REGION call(s) as \(result.transactions) "
                    + "transaction(s) over \(result.backings) backing(s) into \(output)")
                for (reason, count) in result.exits.sorted(by: { $0.key < $1.key }) {
                    print("\(reason): \(count.total) exit(s), \(count.inWindows) inside a transaction window")
                }
                print("\(result.windowsWithExits) transaction window(s) saw an exit; strace shows no GPA, "
                    + "so these exits cannot be told spurious (capture can)")
                printSkipped(result.skipped)
            }
        }
    }

    private func printSkipped(_ skipped: [(line: Int, detail: String)]) {
        guard !skipped.isEmpty else { return }
        print("skipped \(skipped.count) malformed line(s): "
            + skipped.prefix(5).map { "line \($0.line): \($0.detail)" }.joined(separator: "; "))
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
        if StraceImporter.looksLikeStrace(lines) { return .strace }
        throw .unrecognized(
            path: input,
            detail: "neither memjournal JSONL (it starts with {\"format\":\"memjournal-jsonl\",…}), a QEMU log "
                + "with kvm_set_user_memory trace events nor an strace -f -ttt log of KVM ioctls; pass --format "
                + "jsonl, qemu-trace or strace if it is one")
    }
}
