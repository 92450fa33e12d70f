import Analysis
import JSON
import JournalStore
import MemoryModel
import Memslots

/// The JSON forms of a journal's views — what `inspect --json` prints and what
/// `serve --http` answers on its API — written in one place so both say the
/// same thing in the same words.
public enum JournalJSON {
    /// `inspect J summary --json`: header facts, counts, inhibit percentiles and
    /// what a capture recorded. `journal` is the name it is shown under.
    public static func summary(_ reader: JournalReader, journal: String) throws(JournalError) -> JSONValue {
        let header = try reader.header()
        let s = try reader.summary()
        let stats = try reader.recorderStatistics()
        let capture = try reader.capture()
        return .orderedObject([
            ("journal", .string(journal)), ("schema", .int(reader.originalVersion)),
            ("backend", .string(header.backend)), ("scenario", header.scenario.map(JSONValue.string) ?? .null),
            ("vcpus", .int(header.vcpus)), ("inhibit", .bool(header.inhibit)),
            ("wait", .string(header.wait.rawValue)), ("clean_close", .bool(s.cleanClose)),
            ("transactions", .int(s.transactions)), ("complete", .int(s.complete)),
            ("cut_off", .int(s.cutOff)), ("gaps", .int(s.gaps)),
            ("overlapping", .int(s.overlapping)), ("inhibited", .int(s.inhibited)),
            ("slot_operations", .int(s.slotOperations)), ("failed_operations", .int(s.failedOperations)),
            ("spurious_faults", .int(s.faults)), ("drain_timeouts", .int(s.drainTimeouts)),
            ("inhibit_ns", try Percentiles.inhibitNs(of: reader)?.json ?? .null),
            ("queue_stalls", stats?.stalls.map { .int($0) } ?? .null),
            ("capture", capture.map { c in
                .orderedObject([
                    ("vmm_pid", .int(Int(c.vmmPID))), ("vmm_binary", .string(c.vmmBinary)),
                    ("vmm_version", c.vmmVersion.map(JSONValue.string) ?? .null),
                    ("vmm_end", c.end.map { .string($0.rawValue) } ?? .null), ("records", .int(c.records)),
                    ("mmio_exits", .int(c.mmioExits)), ("device_exits", .int(c.deviceExits)),
                    ("internal_errors", .int(c.internalErrors)), ("dropped_exit_records", .int(c.droppedExitRecords)),
                    ("dirty_log_calls", .int(c.dirtyLogCalls)),
                ])
            } ?? .null),
        ])
    }

    /// A transaction as a line of `inspect J list --json`.
    public static func listed(_ r: TransactionRecord) -> JSONValue {
        .orderedObject([
            ("sequence", .int(r.sequence)), ("as", .int(r.addressSpace)),
            ("outcome", .string(r.succeeded ? "ok" : "failed")), ("overlaps", .bool(r.decision.overlaps)),
            ("inhibited", .bool(r.timing.inhibited)), ("inhibit_ns", .int(r.timing.inhibitNs)),
            ("deletes", .int(r.deletes.count)), ("adds", .int(r.adds.count)),
            ("slot_ops", .int(r.slotOps.count)), ("failed_ops", .int(r.failedOps.count)),
        ])
    }

    /// A cut-off transaction (its intent without an outcome), listed or shown.
    public static func cutOff(_ c: CutOffTransaction) -> JSONValue {
        .orderedObject([("sequence", .int(c.sequence)), ("as", .int(c.addressSpace)), ("outcome", .string("cut_off")),
                        ("overlaps", .bool(c.decision.overlaps)), ("sections", .array(c.sections.map(change)))])
    }

    /// `inspect J show N --json`: the whole transaction.
    public static func transaction(_ r: TransactionRecord) -> JSONValue {
        .orderedObject([
            ("sequence", .int(r.sequence)), ("as", .int(r.addressSpace)), ("begin_ns", .int(r.beginNs)),
            ("commit_ns", .int(r.commitNs)), ("sections", .array(r.sections.map(change))),
            ("overlap", r.decision.pair.map { p in
                .orderedObject([("delete_index", .int(p.deleteIndex)), ("add_index", .int(p.addIndex)),
                                ("deleted", range(p.deleted)), ("added", range(p.added))])
            } ?? .null),
            ("slot_ops", .array(r.slotOps.map { op in
                .orderedObject([("kind", .string(op.kind.rawValue)), ("slot", .int(op.slot.rawValue)),
                                ("range", range(op.range)), ("backing", .int(op.host.backing)),
                                ("offset", .string(hex(op.host.offset))), ("flags", .int(op.flags.rawValue)),
                                ("errno", .int(op.errno)), ("duration_ns", .int(op.durationNs))])
            })),
            ("timing", .orderedObject([("inhibited", .bool(r.timing.inhibited)), ("drain_ns", .int(r.timing.drainNs)),
                                       ("apply_ns", .int(r.timing.applyNs)), ("inhibit_ns", .int(r.timing.inhibitNs)),
                                       ("vcpus_kicked", .int(r.timing.vcpusKicked)),
                                       ("drain_timeout", .optional(r.timing.drainTimeout) { timeout in
                                           .orderedObject([("vcpus", .array(timeout.vcpus.map { .int($0) })),
                                                           ("vm_ioctls", .int(timeout.vmIoctls))])
                                       })])),
            ("digest", .orderedObject([("count", .int(r.digest.count)), ("hash", .string(hex(r.digest.hash)))])),
        ])
    }

    /// `inspect J map --at N --json`: the flat views and slot tables after N.
    public static func map(_ m: MemoryMapAtTransaction) -> JSONValue {
        .orderedObject([
            ("sequence", .int(m.sequence)), ("digest_matches", .bool(m.digestMatches)),
            ("views", .orderedObject(m.views.sorted { $0.key < $1.key }.map { ("\($0.key)", .array($0.value.map(section))) })),
            ("slots", .orderedObject(m.slots.sorted { $0.key < $1.key }.map { ("\($0.key)", .array($0.value.map(slot))) })),
        ])
    }

    /// A spurious fault, as `inspect J faults --json` lists it.
    public static func fault(_ f: SpuriousFault) -> JSONValue {
        .orderedObject([("vcpu", .int(f.vcpu)), ("gpa", .string(hex(f.gpa))), ("write", .bool(f.isWrite)),
                        ("time_ns", .int(f.timeNs)),
                        ("transaction_in_flight", f.transactionInFlight.map { JSONValue.int($0) } ?? .null)])
    }

    /// `inspect J hazards --json`: the non-atomic windows.
    /// The hazards' JSON, `{"windows":…,"unprotected":…,"longest_ns":…,"transactions":[…]}`,
    /// written a transaction at a time: this opening, each transaction's
    /// `hazard(_:)` as a `JSONValue.element`, then `JSONValue.objectClosing()`.
    public static func hazardsOpening(_ summary: HazardAnalysis.Summary) -> String {
        JSONValue.objectOpening([
            ("windows", .int(summary.windows)), ("unprotected", .int(summary.unprotected)),
            ("longest_ns", summary.longestNs.map { JSONValue.int($0) } ?? .null),
        ], array: "transactions")
    }

    public static func hazard(_ t: HazardAnalysis.TransactionHazards) -> JSONValue {
        .orderedObject([("sequence", .int(t.sequence)), ("as", .int(t.addressSpace)),
                        ("inhibited", .bool(t.inhibited)),
                        ("windows", .array(t.windows.map { w in
                            .orderedObject([("range", range(w.range)), ("unmapped_after_op", .int(w.unmappedAfter)),
                                            ("remapped_by_op", .int(w.remappedBy)),
                                            ("duration_ns", w.durationNs.map { JSONValue.int($0) } ?? .null)])
                        }))])
    }

    static func change(_ c: SectionChange) -> JSONValue {
        .orderedObject([("kind", .string(c.kind.rawValue))] + sectionFields(c.section))
    }

    static func section(_ s: MemorySection) -> JSONValue { .orderedObject(sectionFields(s)) }

    static func sectionFields(_ s: MemorySection) -> [(String, JSONValue)] {
        [("range", range(s.range)), ("region", .string(s.regionName)), ("region_kind", .string(s.kind.rawValue)),
         ("backing", s.backing.map { .int($0.backing) } ?? .null),
         ("offset", s.backing.map { .string(hex($0.offset)) } ?? .null), ("read_only", .bool(s.readOnly)),
         ("romd", .bool(s.romd)), ("dirty_log", .bool(s.dirtyLog))]
    }

    static func slot(_ s: Memslot) -> JSONValue {
        .orderedObject([("slot", .int(s.id.rawValue)), ("range", range(s.range)), ("backing", .int(s.host.backing)),
                        ("offset", .string(hex(s.host.offset))), ("flags", .int(s.flags.rawValue))])
    }

    static func range(_ r: GuestRange) -> JSONValue { .array([.string(hex(r.start)), .string(hex(r.last))]) }
}
