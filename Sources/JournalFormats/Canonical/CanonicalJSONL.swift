import JSON
import MemoryModel
import Memslots
import JournalStore

/// The canonical text form of a journal: JSON Lines, one header line, then one
/// line per transaction in sequence order (with its faults), plus one line per
/// fault that belongs to no transaction in the file. Field by field in
/// docs/jsonl-format.md.
///
/// Canonical means byte-stable: keys are written in a fixed order (the order of
/// the document), no spaces, `\n` after every line, integers in plain decimal,
/// and every u64 (addresses, sizes, offsets, hashes, times) as a `"0x…"`
/// lower-case hex string, so values above 2^53 survive any JSON tool and two
/// exports of equal journals are equal bytes. Values that are measurements
/// (times, durations, how many vCPUs a kick reached, recorder statistics) sit in
/// a `"measured"` object wherever they occur: a diff or a replay that drops every
/// `"measured"` member compares only what the VMM decided and did.
///
/// Reading is strict: every field is type- and range-checked, unknown and
/// missing keys are refused, sizes are bounded before anything is allocated, and
/// every error is a `JournalError.malformed` naming the file and line.
public enum CanonicalJSONL {
    public static let formatName = "memjournal-jsonl"
    /// The format version this memjournal writes and reads.
    public static let version = 1
    /// Longest line accepted (a transaction with thousands of sections fits easily).
    public static let maxLineBytes = 16 << 20
    /// Longest string field accepted (region names, kernel, tool version, one argv word).
    public static let maxStringBytes = 64 << 10
    /// Longest command line accepted, all words together (the header row must stay
    /// well under the 1 MiB a journal reader accepts for one row).
    public static let maxCommandLineBytes = 256 << 10

    // MARK: Files

    /// Writes the canonical form of the journal at `journal` to `output`, which
    /// must not exist (it is never overwritten). An older journal schema is
    /// migrated on a temporary copy first; the journal itself is opened read-only.
    public static func export(journal: String, to output: String) throws(JournalError) {
        let copy = "/tmp/memjournal-export-\(getProcessID()).journal"
        defer { removeFileSet(copy) }
        let reader = try JournalReader(path: journal, migration: .onCopy(destination: copy))
        let text = encode(try reader.contents())
        try TextFile.writeNew(text, to: output)
    }

    /// Builds a new journal at `journal` (never overwritten) from the canonical
    /// form in `input`. The whole input is read and checked before the journal is
    /// created, so malformed input creates nothing.
    public static func importFile(_ input: String, to journal: String) throws(JournalError) {
        let contents = try read(input)
        try contents.writeJournal(to: journal)
    }

    /// Reads and checks the canonical form in the file at `path`.
    public static func read(_ path: String) throws(JournalError) -> JournalContents {
        var decoder = Decoder(path: path)
        try TextFile.forEachLine(path, maxLineBytes: maxLineBytes) { (line, number) throws(JournalError) in
            try decoder.line(line, number: number)
        }
        return try decoder.finish()
    }

    // MARK: Encoding

    /// The canonical text of `contents`.
    public static func encode(_ contents: JournalContents) -> [UInt8] {
        var out: [UInt8] = []
        func emit(_ line: String) {
            out.append(contentsOf: line.utf8)
            out.append(0x0a)
        }
        emit(headerLine(contents))

        // Faults go with the transaction that was in flight when they happened.
        // Those with none in flight (or naming a transaction not in this journal)
        // get their own line, placed before the first transaction that began after
        // them — or at the end.
        let sequences = Set(contents.records.map(\.sequence) + contents.cutOff.map(\.sequence))
        var attached: [UInt64: [(id: Int, fault: SpuriousFault)]] = [:]
        var loose: [(id: Int, fault: SpuriousFault)] = []
        for (index, fault) in contents.faults.enumerated() {
            if let t = fault.transactionInFlight, sequences.contains(t) {
                attached[t, default: []].append((index + 1, fault))
            } else {
                loose.append((index + 1, fault))
            }
        }
        var nextLoose = 0
        var complete = contents.records[...]
        var cut = contents.cutOff[...]
        while !complete.isEmpty || !cut.isEmpty {
            let takeComplete = cut.first.map { c in complete.first.map { $0.sequence < c.sequence } ?? false } ?? true
            let sequence: UInt64
            let beginNs: UInt64
            let line: String
            if takeComplete, let record = complete.popFirst() {
                (sequence, beginNs) = (record.sequence, record.beginNs)
                line = transactionLine(record, faults: attached[sequence] ?? [])
            } else if let c = cut.popFirst() {
                (sequence, beginNs) = (c.sequence, c.beginNs)
                line = cutOffLine(c, faults: attached[sequence] ?? [])
            } else {
                break
            }
            while nextLoose < loose.count, loose[nextLoose].fault.timeNs < beginNs {
                emit(faultLine(loose[nextLoose]))
                nextLoose += 1
            }
            emit(line)
        }
        for item in loose[nextLoose...] { emit(faultLine(item)) }
        return out
    }

    private static func headerLine(_ c: JournalContents) -> String {
        let h = c.header
        var header = ObjectText()
        header.add("tool_version", string(h.toolVersion))
        header.add("host_kernel", string(h.hostKernel))
        header.add("backend", string(h.backend))
        header.add("kvm", nullable(h.kvm) { k in
            var o = ObjectText()
            o.add("api_version", String(k.apiVersion))
            o.add("nr_memslots", String(k.nrMemslots))
            o.add("readonly_mem", bool(k.readonlyMem))
            o.add("immediate_exit", bool(k.immediateExit))
            o.add("multi_address_space", String(k.multiAddressSpace))
            return o.text
        })
        header.add("max_slots", String(h.maxSlots))
        header.add("max_slot_size", hex(h.maxSlotSize))
        header.add("page_size", hex(h.pageSize))
        header.add("readonly_slots", bool(h.readOnlySlots))
        header.add("vcpus", String(h.vcpus))
        header.add("wait", string(h.wait.rawValue))
        header.add("inhibit", bool(h.inhibit))
        header.add("scenario", nullable(h.scenario, string))
        header.add("seed", nullable(h.seed, hex))
        header.add("command_line", "[" + h.commandLine.map(string).joined(separator: ",") + "]")
        header.add("durability", string(h.durability.rawValue))
        header.add("clean_close", bool(h.cleanClose))
        var measured = ObjectText()
        measured.add("created_unix_ns", hex(h.createdUnixNs))
        measured.add("closed_unix_ns", nullable(h.closedUnixNs, hex))
        header.add("measured", measured.text)

        var line = ObjectText()
        line.add("format", string(formatName))
        line.add("version", String(version))
        line.add("transactions", String(c.transactionCount))
        line.add("faults", String(c.faults.count))
        line.add("header", header.text)
        line.add("backings", "[" + c.backings.map { b in
            var o = ObjectText()
            o.add("id", String(b.id))
            o.add("size", hex(b.size))
            o.add("kind", string(b.kind.rawValue))
            return o.text
        }.joined(separator: ",") + "]")
        line.add("regions", "[" + c.regions.sorted { $0.key < $1.key }.map { (asID, sections) in
            var o = ObjectText()
            o.add("as", String(asID))
            o.add("sections", "[" + sections.map { s in
                var so = ObjectText()
                addSection(s, to: &so)
                return so.text
            }.joined(separator: ",") + "]")
            return o.text
        }.joined(separator: ",") + "]")
        line.add("recorder", nullable(c.recorderStatistics) { s in
            var o = ObjectText()
            o.add("last_sequence", nullable(s.lastSequence) { String($0) })
            var m = ObjectText()
            m.add("queue_capacity", nullable(s.queueCapacity) { String($0) })
            m.add("stalls", nullable(s.stalls) { String($0) })
            m.add("stall_ns", nullable(s.stallNs, hex))
            m.add("batches", nullable(s.batches) { String($0) })
            m.add("max_batch", nullable(s.maxBatch) { String($0) })
            o.add("measured", m.text)
            return o.text
        })
        return line.text
    }

    /// The members of a section (shared by regions and transaction sections).
    private static func addSection(_ s: MemorySection, to o: inout ObjectText) {
        o.add("start", hex(s.range.start))
        o.add("last", hex(s.range.last))
        o.add("region", string(s.regionName))
        o.add("kind", string(s.kind.rawValue))
        o.add("backing", nullable(s.backing) { b in
            var bo = ObjectText()
            bo.add("id", String(b.backing))
            bo.add("offset", hex(b.offset))
            return bo.text
        })
        o.add("read_only", bool(s.readOnly))
        o.add("romd", bool(s.romd))
        o.add("dirty_log", bool(s.dirtyLog))
    }

    /// seq, as, outcome, sections, overlap: the intent, common to complete and cut-off lines.
    private static func intent(
        _ o: inout ObjectText, sequence: UInt64, addressSpace: UInt16, outcome: String, sections: [SectionChange],
        decision: OverlapDecision
    ) {
        o.add("seq", String(sequence))
        o.add("as", String(addressSpace))
        o.add("outcome", string(outcome))
        o.add("sections", "[" + sections.map { change in
            var so = ObjectText()
            so.add("change", string(change.kind.rawValue))
            addSection(change.section, to: &so)
            return so.text
        }.joined(separator: ",") + "]")
        o.add("overlap", nullable(decision.pair) { p in
            var po = ObjectText()
            po.add("delete_index", String(p.deleteIndex))
            po.add("add_index", String(p.addIndex))
            po.add("deleted_start", hex(p.deleted.start))
            po.add("deleted_last", hex(p.deleted.last))
            po.add("added_start", hex(p.added.start))
            po.add("added_last", hex(p.added.last))
            return po.text
        })
    }

    private static func transactionLine(_ r: TransactionRecord, faults: [(id: Int, fault: SpuriousFault)]) -> String {
        var o = ObjectText()
        intent(&o, sequence: r.sequence, addressSpace: r.addressSpace, outcome: r.failedOps.isEmpty ? "ok" : "failed",
               sections: r.sections, decision: r.decision)
        o.add("inhibited", bool(r.timing.inhibited))
        o.add("slot_ops", "[" + r.slotOps.map { op in
            var so = ObjectText()
            so.add("kind", string(op.kind.rawValue))
            so.add("slot", String(op.slot.rawValue))
            so.add("start", hex(op.range.start))
            so.add("last", hex(op.range.last))
            so.add("backing", String(op.host.backing))
            so.add("offset", hex(op.host.offset))
            so.add("flags", String(op.flags.rawValue))
            so.add("errno", String(op.errno))
            so.add("measured", "{\"duration_ns\":\(hex(op.durationNs))}")
            return so.text
        }.joined(separator: ",") + "]")
        o.add("digest", "{\"slots\":\(r.digest.count),\"hash\":\(hex(r.digest.hash))}")
        o.add("faults", faultsArray(faults))
        var m = ObjectText()
        m.add("begin_ns", hex(r.beginNs))
        m.add("commit_ns", hex(r.commitNs))
        m.add("drain_ns", hex(r.timing.drainNs))
        m.add("apply_ns", hex(r.timing.applyNs))
        m.add("inhibit_ns", hex(r.timing.inhibitNs))
        m.add("vcpus_kicked", String(r.timing.vcpusKicked))
        o.add("measured", m.text)
        return o.text
    }

    private static func cutOffLine(_ c: CutOffTransaction, faults: [(id: Int, fault: SpuriousFault)]) -> String {
        var o = ObjectText()
        intent(&o, sequence: c.sequence, addressSpace: c.addressSpace, outcome: cutOffOutcome, sections: c.sections,
               decision: c.decision)
        o.add("faults", faultsArray(faults))
        o.add("measured", "{\"begin_ns\":\(hex(c.beginNs))}")
        return o.text
    }

    static let cutOffOutcome = "cut_off"

    private static func faultsArray(_ faults: [(id: Int, fault: SpuriousFault)]) -> String {
        "[" + faults.map { faultObject($0, inFlight: false) }.joined(separator: ",") + "]"
    }

    private static func faultLine(_ item: (id: Int, fault: SpuriousFault)) -> String {
        "{\"fault\":\(faultObject(item, inFlight: true))}"
    }

    /// A fault; `transaction_in_flight` is written only on a fault's own line
    /// (inside a transaction line it is that transaction).
    private static func faultObject(_ item: (id: Int, fault: SpuriousFault), inFlight: Bool) -> String {
        let f = item.fault
        var o = ObjectText()
        o.add("id", String(item.id))
        o.add("vcpu", String(f.vcpu))
        o.add("gpa", hex(f.gpa))
        o.add("write", bool(f.isWrite))
        if inFlight { o.add("transaction_in_flight", nullable(f.transactionInFlight) { String($0) }) }
        o.add("measured", "{\"time_ns\":\(hex(f.timeNs))}")
        return o.text
    }

    // MARK: Value text

    static func hex(_ value: UInt64) -> String { "\"0x" + String(value, radix: 16) + "\"" }
    static func bool(_ value: Bool) -> String { value ? "true" : "false" }
    static func string(_ value: String) -> String { JSONValue.quote(value) }
    static func nullable<T>(_ value: T?, _ text: (T) -> String) -> String { value.map(text) ?? "null" }
}

/// Builds one JSON object's text with members in the order they are added.
struct ObjectText {
    private(set) var text = "{}"
    private var empty = true

    mutating func add(_ key: String, _ value: String) {
        text.removeLast()
        text += (empty ? "" : ",") + "\"" + key + "\":" + value + "}"
        empty = false
    }
}
