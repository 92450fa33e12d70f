import Analysis
import ArgumentParser
import JSON
import JournalFormats
import JournalStore
import MemoryModel
import Memslots

/// What `diff --ignore` accepts.
enum IgnoredField: String, ExpressibleByArgument, CaseIterable {
    case slotIDs = "slot-ids", hosts, times, sizes, names

    var option: HistoryDiff.Ignored {
        switch self {
        case .slotIDs: .slotIDs
        case .hosts: .hosts
        case .times: .times
        case .sizes: .sizes
        case .names: .names
        }
    }
}

/// `memjournal diff A B`: a semantic diff of two histories.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two histories by what their transactions do; exit 0 when equivalent, 1 when not.",
        discussion: """
            A and B are journals or canonical JSONL. Transactions are aligned by what they do (address \
            space, sections, overlap, operations' kinds, ranges, flags and results: a shortest edit \
            script), not by sequence number, and the aligned pairs are compared whole. Printed: each \
            changed pair with the sections and slot operations that differ, the transactions only in \
            A (-) or only in B (+), the first point where the slot tables differ, and a summary line. \
            At most --max of each are listed (JSON too: its "counts" has them all); the diff holds \
            what it lists, one alignment key per transaction (in a scratch file past 1 MiB), and \
            the transactions between two aligned pairs.
            By default times never count, and slot ids and host locations (backing and offset) count \
            only where they do not differ consistently (slot #3 of A always #5 of B is a renaming); \
            the sections of an imported trace are named after its file and line, so region names \
            count only when neither side is one. --ignore slot-ids,hosts,times,sizes,names drops \
            those from every comparison (sizes: ranges compared by their start, e.g. two RAM \
            sizes); --strict compares everything as written, times included.
            Examples:
              memjournal diff before.journal after.journal
              memjournal diff pc.jsonl q35.jsonl --ignore hosts,sizes --json
              memjournal diff run.journal run.jsonl --strict
            Exit codes: 0 equivalent; 1 different; 65 not a history or fails verify; 66 missing.
            """)

    @Argument(help: "The first history (journal or JSONL).") var a: String
    @Argument(help: "The second history.") var b: String
    @Option(parsing: .upToNextOption, help: "Fields that never count: slot-ids, hosts, times, sizes, names (comma-separated).",
            transform: { text in
                try text.split(separator: ",").map { word in
                    guard let field = IgnoredField(rawValue: String(word)) else {
                        throw ValidationError("--ignore: unknown field '\(word)'; use slot-ids, hosts, times, sizes or names")
                    }
                    return field
                }
            })
    var ignore: [[IgnoredField]] = []
    @Flag(help: "Compare every field as written: no renaming, times included.") var strict = false
    @Flag(help: "Print the result as JSON.") var json = false
    @Option(help: "List at most this many changed, removed and inserted transactions, in text and JSON (0: all; all are counted).")
    var max: Int = 100
    @Flag(help: "Skip the whole-journal check (inspect J verify) run first on journals.") var noVerify = false

    func validate() throws {
        if strict && !ignore.isEmpty { throw ValidationError("--strict compares everything: it cannot be combined with --ignore") }
        guard max >= 0 else { throw ValidationError("--max must be 0 or more") }
    }

    func run() throws {
        let (left, right) = try withJournalErrors { (try Self.history(a, verify: !noVerify), try Self.history(b, verify: !noVerify)) }
        var ignored = HistoryDiff.Ignored(ignore.flatMap { $0.map(\.option) })
        // Names of sections seen from outside say where each call was read (file:line, ioctl#N).
        if OutsideChannel(left.header) != nil || OutsideChannel(right.header) != nil { ignored.insert(.names) }
        let options = HistoryDiff.Options(ignored: ignored, strict: strict, listed: max == 0 ? .max : max)
        let diff = try withJournalErrors { try HistoryDiff(left.records, right.records, options: options) }
        if json {
            print(jsonReport(diff, options).text)
        } else {
            printReport(diff, options)
        }
        if !diff.equivalent { throw ExitStatus.found }
    }

    /// A journal's or JSONL file's header and transactions (read as the diff walks them).
    private static func history(_ path: String, verify: Bool) throws(JournalError)
        -> (header: JournalHeader, records: RecordSequence)
    {
        let history = try HistoryFile.records(of: path, verify: verify, note: printNote)
        return (history.header, history.records)
    }

    private func ignoredWords(_ options: HistoryDiff.Options) -> [String] {
        IgnoredField.allCases.filter { options.ignored.contains($0.option) }.map(\.rawValue)
    }

    private func printReport(_ diff: HistoryDiff, _ options: HistoryDiff.Options) {
        print("--- \(a) (\(diff.transactionsA) transactions)")
        print("+++ \(b) (\(diff.transactionsB) transactions)")
        // The diff kept at most --max of each kind: print those.
        for change in diff.changed {
            print("~ transaction \(change.a) ↔ \(change.b)")
            for line in change.differences { print("    \(line)") }
        }
        for sequence in diff.removed { print("- transaction \(sequence) (only in A)") }
        for sequence in diff.inserted { print("+ transaction \(sequence) (only in B)") }
        let total = diff.changedCount + diff.removedCount + diff.insertedCount
        let printed = diff.changed.count + diff.removed.count + diff.inserted.count
        if printed < total { print("… and \(total - printed) more (--max 0 prints all)") }
        if let map = diff.firstMapDifference {
            print("slot tables first differ after A \(map.a) / B \(map.b), address space \(map.addressSpace) at "
                + "\(hex(map.address)): \(map.slotA.map(String.init(describing:)) ?? "no slot") ≠ "
                + "\(map.slotB.map(String.init(describing:)) ?? "no slot")")
        }
        if !diff.exactAlignment {
            print("note: the histories differ in too many places for a shortest alignment; their middle was aligned by position")
        }
        let how = options.strict ? "strict" : "ignoring \(ignoredWords(options).joined(separator: ", "))"
            + (options.ignored.isSuperset(of: [.slotIDs, .hosts]) ? "" : "; slot ids and hosts where renamed consistently")
        print("\(diff.equivalent ? "equivalent" : "different"): \(diff.equal) equal, \(diff.changedCount) changed, "
            + "\(diff.removedCount) only in A, \(diff.insertedCount) only in B (\(how))")
    }

    private func jsonReport(_ diff: HistoryDiff, _ options: HistoryDiff.Options) -> JSONValue {
        .orderedObject([
            ("equivalent", .bool(diff.equivalent)),
            ("a", .orderedObject([("path", .string(a)), ("transactions", .int(diff.transactionsA))])),
            ("b", .orderedObject([("path", .string(b)), ("transactions", .int(diff.transactionsB))])),
            ("strict", .bool(options.strict)),
            ("ignored", .array(ignoredWords(options).map(JSONValue.string))),
            ("equal", .int(diff.equal)),
            ("counts", .orderedObject([("changed", .int(diff.changedCount)), ("removed", .int(diff.removedCount)),
                                       ("inserted", .int(diff.insertedCount))])),
            ("changed", .array(diff.changed.map { change in
                .orderedObject([("a", .int(change.a)), ("b", .int(change.b)),
                                ("differences", .array(change.differences.map(JSONValue.string)))])
            })),
            ("removed", .array(diff.removed.map { .int($0) })),
            ("inserted", .array(diff.inserted.map { .int($0) })),
            ("first_map_difference", .optional(diff.firstMapDifference) { map in
                .orderedObject([
                    ("a", .int(map.a)), ("b", .int(map.b)), ("as", .int(map.addressSpace)), ("address", .hex(map.address)),
                    ("slot_a", .optional(map.slotA) { .string("\($0)") }), ("slot_b", .optional(map.slotB) { .string("\($0)") }),
                ])
            }),
            ("exact_alignment", .bool(diff.exactAlignment)),
        ])
    }
}
