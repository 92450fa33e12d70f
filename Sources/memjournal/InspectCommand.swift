import JSON
import Report
import ArgumentParser
import MemoryModel
import Memslots
import Analysis
import JournalStore
#if canImport(Glibc)
import Glibc
#endif

/// `memjournal inspect J [summary | list | show N | map --at N | faults | hazards | verify]`: reads a
/// journal read-only (defensive SQLite settings) through `JournalReader`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Inspect a journal: summary, list, show N, map --at N, faults, hazards, verify.",
        discussion: """
            Examples:
              memjournal inspect run.journal
              memjournal inspect run.journal list --inhibited --min-inhibit 50us
              memjournal inspect run.journal list --gpa 0xc0000-0xfffff --from 10 --to 200
              memjournal inspect run.journal show 42 --json
              memjournal inspect run.journal map --at 42
              memjournal inspect boot.journal hazards --fail-on-hazard
              memjournal inspect run.journal verify
            verify checks the whole file: SQLite's integrity check, every value
            against the schema's constraints, sequences 1…N in every table, rows
            that belong to no transaction, and the hash chain; it names the first
            bad transaction and exits 1 when the journal is damaged, 0 when intact.
            A journal written by an older schema is migrated on a temporary copy
            (or in place with --in-place). Exit codes: 65 not a journal, damaged or
            too new; 66 missing; 74 I/O error; 1 with --fail-on-hazard when an
            unprotected window exists, or from verify when the journal is damaged.
            """)

    @Argument(help: "The journal file.") var journal: String
    @Argument(help: "summary, list, show, map, faults, hazards or verify.") var view: String = "summary"
    @Argument(help: "Transaction sequence (for show).") var number: UInt64?
    @Option(help: "Sequence for map: the memory map after this transaction.") var at: UInt64?
    @Option(help: "First sequence (list).") var from: UInt64?
    @Option(help: "Last sequence (list).") var to: UInt64?
    @Option(help: "Guest-physical address or range (ADDR, START-LAST or START+SIZE) a transaction must touch (list, faults).")
    var gpa: String?
    @Flag(help: "Only transactions that inhibited ioctls (list).") var inhibited = false
    @Option(help: "Only transactions whose inhibit took at least this long: 1500, 1500ns, 50us, 2ms (list).")
    var minInhibit: String?
    @Flag(help: "Migrate an older journal in place instead of on a temporary copy.") var inPlace = false
    @Flag(help: "hazards: exit 1 when any window is not covered by an inhibit.") var failOnHazard = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard ["summary", "list", "show", "map", "faults", "hazards", "verify"].contains(view) else {
            throw ValidationError("unknown view '\(view)': use summary, list, show N, map --at N, faults, hazards or verify")
        }
        if view == "show", number == nil { throw ValidationError("show needs a transaction number: inspect J show N") }
        if view == "map", at == nil, number == nil { throw ValidationError("map needs --at N") }
        if let gpa, parseRange(gpa) == nil { throw ValidationError("--gpa \(gpa): expected ADDR, START-LAST or START+SIZE") }
        if let minInhibit, parseDuration(minInhibit) == nil {
            throw ValidationError("--min-inhibit \(minInhibit): expected a duration such as 1500, 50us or 2ms")
        }
    }

    func run() throws {
        if view == "verify" { return try verify() }
        try withReadableJournal(journal, inPlace: inPlace) { reader in
            if reader.originalVersion != Migrations.current, !json {
                print("(journal schema \(reader.originalVersion) migrated to \(Migrations.current) on \(reader.readPath == journal ? "the file itself" : "a temporary copy"))")
            }
            switch view {
            case "list": try list(reader)
            case "show": try show(reader, number!)
            case "map": try map(reader, at ?? number!)
            case "faults": try faults(reader)
            case "hazards": try hazards(reader)
            default: try summary(reader)
            }
        }
    }

    // MARK: Views

    /// The whole-file check: exit 0 intact, 1 damaged (whether the damage shows
    /// when the file is opened or when it is checked), 65/66/74 as for any read.
    func verify() throws {
        let result: Result<(JournalVerification, Int), JournalError>
        do {
            let reader = try JournalReader(path: journal, migration: .onPrivateCopy)
            reader.notes.forEach(printNote)
            result = .success((try JournalVerifier.verify(reader), reader.originalVersion))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let (verification, schema)):
            if json {
                print(JSONValue.orderedObject([
                    ("journal", .string(journal)), ("intact", .bool(true)), ("schema", .int(schema)),
                    ("transactions", .int(verification.transactions)), ("cut_off", .int(verification.cutOff)),
                    ("faults", .int(verification.faults)), ("chain", .string("\(verification.chain)")),
                ]).text)
                return
            }
            let chain = switch verification.chain {
            case .sealed: "hash chain verified from its start to the seal of the clean close"
            case .unsealed: "hash chain verified from its start to transaction \(verification.lastSequence.map(String.init) ?? "0") (not sealed: the recording was cut short or is still being written)"
            case .unchained: "unchained (schema \(schema) journal, written before the hash chain): structure and values checked, contents not authenticated"
            }
            let range = verification.lastSequence.map { " (1…\($0))" } ?? ""
            print("\(journal): intact — \(verification.transactions) transaction(s)\(range), \(verification.cutOff) cut off, \(verification.faults) fault(s); \(chain)")
        case .failure(let error):
            var standardError = StandardError()
            print("memjournal: \(error)", to: &standardError)
            if json { print(JSONValue.orderedObject([("journal", .string(journal)), ("intact", .bool(false)), ("problem", .string("\(error)"))]).text) }
            switch error {
            case .damaged, .badData: throw ExitStatus.found
            default: throw ExitCode(error.exitCode)
            }
        }
    }

    func summary(_ reader: JournalReader) throws {
        let header = try reader.header()
        let s = try reader.summary()
        let inhibit = try Percentiles.inhibitNs(of: reader)
        let stats = try reader.recorderStatistics()
        let capture = try reader.capture()
        if json {
            print(try JournalJSON.summary(reader, journal: journal).text)
            return
        }
        let share = s.transactions == 0 ? 0 : Double(s.inhibited) / Double(s.transactions) * 100
        var lines = [
            "journal \(journal) (schema \(reader.originalVersion)), \(header.backend) backend, tool \(header.toolVersion)",
            "  run               \(header.scenario ?? "-") seed \(header.seed.map(String.init) ?? "-"), \(header.vcpus) vCPU(s), inhibit \(header.inhibit ? "on (\(header.wait.rawValue) wait)" : "OFF")",
            "  host              \(header.hostKernel)",
            "  closed            \(s.cleanClose ? "cleanly" : "NOT cleanly: the recording was cut short; transactions after \(s.lastSequence.map(String.init) ?? "the start") may be missing")",
            "  transactions      \(s.transactions) (\(s.complete) complete, \(s.cutOff) cut off, \(s.gaps) missing in between)",
            "  overlapping       \(s.overlapping), inhibited \(s.inhibited) (\(String(format: "%.1f", share))%)",
            "  slot operations   \(s.slotOperations) (\(s.failedOperations) failed, in \(s.failedTransactions) transaction(s))",
            "  spurious faults   \(s.faults)",
        ]
        if s.drainTimeouts > 0 {
            lines.append("  drain timeouts    \(s.drainTimeouts) transaction(s) applied non-atomically: 'inspect show N' names the vCPUs")
        }
        if let inhibit { lines.append("  inhibit           \(inhibit.text)") }
        if let c = capture {
            let end: String = switch c.end {
            case .exited: "it exited"
            case .died: "it died without exiting (its open transaction is cut off)"
            case .recorderStopped: "the service stopped first"
            case .badRecord: "the service stopped at a record it could not read"
            case nil: "the recording was cut short"
            }
            lines.append("  captured          \(c.vmmBinary)\(c.vmmVersion.map { " (\($0))" } ?? ""), pid \(c.vmmPID); \(end)")
            lines.append("  vCPU exits        \(c.mmioExits) MMIO (\(s.faults) spurious, \(c.deviceExits) device), \(c.internalErrors) emulation failure(s); \(c.droppedExitRecords) exit record(s) dropped by the interposer")
        }
        if let stalls = stats?.stalls, stalls > 0 {
            lines.append("  recorder          \(stalls) queue-full stall(s), \(micros(stats?.stallNs ?? 0)) in total")
        }
        print(lines.joined(separator: "\n"))
    }

    func list(_ reader: JournalReader) throws {
        let range = gpa.flatMap(parseRange)
        let minimum = minInhibit.flatMap(parseDuration)
        let records = try reader.records(from: from, to: to).filter { r in
            if inhibited && !r.timing.inhibited { return false }
            if let minimum, r.timing.inhibitNs < minimum { return false }
            if let range, !touches(r, range) { return false }
            return true
        }
        let cut = try reader.cutOffTransactions().filter { c in
            (from.map { c.sequence >= $0 } ?? true) && (to.map { c.sequence <= $0 } ?? true) && !inhibited
                && minimum == nil && (range.map { r in c.sections.contains { $0.section.range.overlaps(r) } } ?? true)
        }
        if json {
            print(JSONValue.array(records.map(JournalJSON.listed) + cut.map(JournalJSON.cutOff)).text)
            return
        }
        print("  seq  as  outcome  overlap  inhibit         del  add  ops  failed")
        for r in records {
            let inhibit = r.timing.inhibited ? micros(r.timing.inhibitNs) : "-"
            print(pad(r.sequence, 5) + pad(r.addressSpace, 4) + "  " + (r.succeeded ? "ok     " : "FAILED ")
                  + (r.decision.overlaps ? "  yes    " : "  no     ") + inhibit.padding(16)
                  + pad(r.deletes.count, 3) + pad(r.adds.count, 5) + pad(r.slotOps.count, 5) + pad(r.failedOps.count, 8))
        }
        for c in cut { print(pad(c.sequence, 5) + pad(c.addressSpace, 4) + "  CUT OFF: intent recorded, outcome lost in a crash") }
        print("\(records.count + cut.count) transaction(s)")
    }

    func show(_ reader: JournalReader, _ sequence: UInt64) throws {
        guard let r = try reader.record(sequence) else {
            if let c = try reader.cutOffTransactions().first(where: { $0.sequence == sequence }) {
                if json { print(JournalJSON.cutOff(c).text); return }
                print("transaction \(sequence) (as \(c.addressSpace)): CUT OFF — its intent reached the journal, its outcome did not")
                for (i, s) in c.sections.enumerated() { print("  section \(i): \(s)") }
                return
            }
            // The journal is fine; the request is not (usage, 64).
            let holds = try reader.sequenceBounds().map { "it holds transactions \($0.first)…\($0.last)" }
                ?? "it holds no transactions"
            var standardError = StandardError()
            print("memjournal: \(journal): no transaction \(sequence): \(holds)", to: &standardError)
            throw ExitStatus.usage
        }
        if json { print(JournalJSON.transaction(r).text); return }
        TransactionDescription.lines(r).forEach { print($0) }
    }

    func map(_ reader: JournalReader, _ sequence: UInt64) throws {
        guard let m = try reader.memoryMap(at: sequence) else {
            throw JournalError.badData(path: journal, detail: "no complete transaction \(sequence) in this journal")
        }
        if json {
            print(JournalJSON.map(m).text)
            return
        }
        print("memory map after transaction \(sequence)")
        for (space, sections) in m.views.sorted(by: { $0.key < $1.key }) {
            print("  address space \(space):")
            for s in sections { print("    \(s)") }
        }
        for (space, slots) in m.slots.sorted(by: { $0.key < $1.key }) {
            print("  slot table, address space \(space): \(slots.count) slot(s)")
            for slot in slots { print("    \(slot)") }
        }
        print(m.digestMatches
              ? "  rebuilt slot table matches the recorded digest \(m.rebuiltDigest)"
              : "  MISMATCH: rebuilt \(m.rebuiltDigest), recorded \(m.recordedDigest.map { "\($0)" } ?? "none")")
    }

    func faults(_ reader: JournalReader) throws {
        let range = gpa.flatMap(parseRange)
        let faults = try reader.faults().filter { f in range.map { $0.contains(f.gpa) } ?? true }
        if json {
            print(JSONValue.array(faults.map(JournalJSON.fault)).text)
            return
        }
        for f in faults {
            print("vCPU \(f.vcpu) \(f.isWrite ? "write" : "read ") \(hex(f.gpa)) at \(f.timeNs) ns, transaction in flight: \(f.transactionInFlight.map(String.init) ?? "none")")
        }
        print("\(faults.count) spurious fault(s)")
    }

    /// Non-atomic windows: ranges mapped before and after a transaction but
    /// unmapped between two of its operations.
    func hazards(_ reader: JournalReader) throws {
        let window = { (ns: UInt64?) -> String in ns.map { String(format: "%.1f µs", Double($0) / 1000) } ?? "n/a" }
        let summary: HazardAnalysis.Summary
        if json {
            // The totals come first in the JSON: one walk for them, one to print.
            summary = try reader.forEachHazard()
            print(JournalJSON.hazardsOpening(summary), terminator: "")
            var index = 0
            try reader.forEachHazard { t in
                print(JSONValue.element(JournalJSON.hazard(t), index: index), terminator: "")
                index += 1
            }
            print(JSONValue.objectClosing())
        } else {
            summary = try reader.forEachHazard { t in
                let note = t.inhibited ? " — inhibited: no vCPU could run in these windows" : ""
                print("transaction \(t.sequence) (as \(t.addressSpace)): \(t.windows.count) window(s)\(note)")
                for w in t.windows {
                    print("  \(w.range) unmapped after op \(w.unmappedAfter), mapped again by op \(w.remappedBy): \(window(w.durationNs))")
                }
            }
            let protected = summary.windows - summary.unprotected
            print("\(summary.windows) window(s) in \(summary.transactions) transaction(s): \(summary.unprotected) "
                + "where a running vCPU takes a spurious fault, \(protected) under the inhibit; longest \(window(summary.longestNs))")
        }
        if failOnHazard && summary.unprotected > 0 { throw ExitStatus.found }
    }

    // MARK: Helpers

    func touches(_ r: TransactionRecord, _ range: GuestRange) -> Bool {
        r.sections.contains { $0.section.range.overlaps(range) } || r.slotOps.contains { $0.range.overlaps(range) }
    }
}

private func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
    let s = String(value)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
