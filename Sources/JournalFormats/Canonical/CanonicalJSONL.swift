import JSON
import MemoryModel
import Memslots
import JournalStore
import Sync

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
    /// The journal is verified first (`JournalVerifier`) unless `verify` is false.
    /// A journal is streamed, a window of transactions at a time: export holds
    /// O(slots + one window) in memory, however long the history.
    public static func export(journal: String, to output: String, verify: Bool = true, note: (String) -> Void = { _ in })
        throws(JournalError)
    {
        guard try HistoryFile.isJournal(journal) else {
            return try write(try CanonicalJSONL.read(journal), to: output)
        }
        try write(try HistoryFile.reader(of: journal, verify: verify, note: note), to: output)
    }

    /// Writes `history` in canonical form to a new file at `output` (never
    /// overwritten), a line at a time as it is walked.
    public static func write(_ history: some HistoryStream, to output: String) throws(JournalError) {
        try TextFile.writeNew(to: output) { (emit: ([UInt8]) throws(JournalError) -> Void) throws(JournalError) in
            try encode(history, emit)
        }
    }

    /// Builds a new journal at `journal` (never overwritten) from the canonical
    /// form in `input`, each line written as soon as it is checked (memory does
    /// not grow with the file). The journal is linked into place only once the
    /// whole input is read and checked, so malformed input creates nothing.
    public static func importFile(_ input: String, to journal: String) throws(JournalError) {
        var decoder = Decoder(path: input, sink: JournalImport(path: journal))
        try decode(input, &decoder)
        let (_, statistics) = try decoder.finish()
        try decoder.sink.builder?.finish(statistics: statistics)
    }

    /// Reads and checks the canonical form in the file at `path`.
    public static func read(_ path: String) throws(JournalError) -> JournalContents {
        var decoder = Decoder(path: path, sink: ContentsCollector())
        try decode(path, &decoder)
        let (header, statistics) = try decoder.finish()
        return decoder.sink.contents(header: header, statistics: statistics)
    }

    /// A canonical file's header, backings and cut-off transactions, and its
    /// complete transactions as a sequence read from the file by each walk: the
    /// file is read and checked whole once here (as `read` does), keeping only
    /// counts, then again by every walk — memory does not grow with the file.
    /// A walk refuses a file that is no longer the one checked (`FileIdentity`).
    public static func records(_ path: String) throws(JournalError)
        -> (header: JournalHeader, backings: [BackingDescriptor], cutOff: Int, records: RecordSequence)
    {
        let identity = try FileIdentity.of(path)
        var decoder = Decoder(path: path, sink: CountingSink())
        try decode(path, &decoder)
        let (header, _) = try decoder.finish()
        try identity.check(path)
        let counted = decoder.sink
        return (header, counted.backings, counted.cutOff,
                .walks(count: counted.records, path: path, open: { () throws(JournalError) in
                    try JSONLWalk(path, checked: identity)
                }))
    }

    /// What the checking read keeps: the backings and how many transactions there are.
    struct CountingSink: CanonicalSink {
        var backings: [BackingDescriptor] = []
        var records = 0
        var cutOff = 0
        mutating func start(header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) {
            self.backings = backings
        }
        mutating func add(_ record: TransactionRecord) { records += 1 }
        mutating func add(_ cut: CutOffTransaction) { cutOff += 1 }
        mutating func add(_ fault: SpuriousFault, id: Int) {}
    }

    /// One walk over a canonical file's complete transactions, a line at a
    /// time, of a file checked whole before: its fault ids are not gathered
    /// again, and the file must still be the one checked when the walk starts
    /// and when it ends.
    final class JSONLWalk: RecordWalk {
        /// The transaction of the line read last, if it was one.
        struct LatestRecord: CanonicalSink {
            var record: TransactionRecord?
            mutating func start(header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) {}
            mutating func add(_ record: TransactionRecord) { self.record = record }
            mutating func add(_ cut: CutOffTransaction) {}
            mutating func add(_ fault: SpuriousFault, id: Int) {}
        }

        private let lines: ParsedLines
        private var decoder: Decoder<LatestRecord>
        private let identity: FileIdentity

        init(_ path: String, checked identity: FileIdentity) throws(JournalError) {
            try identity.check(path)
            self.identity = identity
            lines = ParsedLines(path)
            decoder = Decoder(path: path, sink: LatestRecord(), checkingFaultIDs: false)
        }

        func next() throws(JournalError) -> TransactionRecord? {
            while true {
                guard let line = try lines.next() else {
                    _ = try decoder.finish()
                    try identity.check(decoder.path)
                    return nil
                }
                try decoder.line(line)
                if let record = decoder.sink.record {
                    decoder.sink.record = nil
                    return record
                }
            }
        }
    }

    /// What the reading thread hands the decoding one.
    private enum ReadLines: Sendable {
        case lines([ParsedLine])
        /// Why reading stopped before the end of the file.
        case failed(JournalError)
    }

    /// Lines parsed per hand-over, and hand-overs waiting at most (about 1 MB of
    /// canonical lines and their tokens).
    private static let batchLines = 32
    private static let batchesWaiting = 4

    /// Feeds every line of `path` to `decoder`, in order (read and parsed ahead
    /// on another thread: `ParsedLines`).
    private static func decode<Sink>(_ path: String, _ decoder: inout Decoder<Sink>) throws(JournalError) {
        let lines = ParsedLines(path)
        while let line = try lines.next() { try decoder.line(line) }
    }

    /// The lines of a canonical file, read and parsed in a stage of their own:
    /// a reading thread reads the lines, parses their JSON and reads their slot
    /// operations (`ParsedLine`) — about half of the work — ahead of the thread
    /// that takes them, which decodes them into records and hands these on (the
    /// journal's writes, a diff, a replay). What either finds wrong is reported
    /// in line order, as one thread would: the reader stops at its first error
    /// and hands it over after the lines before it; when the taker stops early
    /// (its own error, or it wants no more), releasing this stops the reader.
    final class ParsedLines {
        private let handoff = Handoff<ReadLines>(capacity: batchesWaiting)
        private let reader: OSThread
        private var batch: [ParsedLine] = []
        private var taken = 0

        init(_ path: String) {
            let handoff = handoff
            reader = OSThread {
                var batch: [ParsedLine] = []
                batch.reserveCapacity(batchLines)
                do throws(JournalError) {
                    try TextFile.forEachLine(path, maxLineBytes: maxLineBytes) { (line, number) throws(JournalError) in
                        batch.append(ParsedLine(line, number: number))
                        guard batch.count == batchLines else { return }
                        // Cancelled: the taker has stopped; so does reading.
                        guard handoff.put(.lines(batch)) else { throw .unreadable(path: path, reason: "cancelled") }
                        batch.removeAll(keepingCapacity: true)
                    }
                    if !batch.isEmpty { _ = handoff.put(.lines(batch)) }
                } catch {
                    if !batch.isEmpty { _ = handoff.put(.lines(batch)) }
                    _ = handoff.put(.failed(error))
                }
                handoff.finish()
            }
        }

        deinit {
            handoff.cancel()
            reader.join()
        }

        /// The next line, nil after the last.
        func next() throws(JournalError) -> ParsedLine? {
            while taken == batch.count {
                switch handoff.take() {
                case .lines(let lines)?: (batch, taken) = (lines, 0)
                case .failed(let error)?: throw error
                case nil: return nil
                }
            }
            defer { taken += 1 }
            return batch[taken]
        }
    }

    // MARK: Encoding

    /// The canonical text of `contents`.
    public static func encode(_ contents: JournalContents) -> [UInt8] {
        var out: [UInt8] = []
        do {
            try encode(contents) { line throws(JournalError) in out.append(contentsOf: line) }
        } catch {
            preconditionFailure("a history in memory is read without failing: \(error)")
        }
        return out
    }

    /// The canonical text of `history`, line by line (each with its `\n`), in
    /// order: UTF-8 bytes, written into one buffer reused for every line.
    public static func encode(_ history: some HistoryStream, _ emit: ([UInt8]) throws(JournalError) -> Void)
        throws(JournalError)
    {
        var line: [UInt8] = []
        func put(_ value: JSONValue) throws(JournalError) {
            line.removeAll(keepingCapacity: true)
            value.write(to: &line)
            line.append(0x0a)
            try emit(line)
        }
        try put(headerLine(try history.head()))
        // Faults go with the transaction that was in flight when they happened.
        // Those with none in flight (or naming a transaction not in this journal)
        // get their own line, placed before the first transaction that began after
        // them — or at the end.
        let loose = try history.looseFaults()
        var nextLoose = 0
        try history.forEachTransaction { item throws(JournalError) in
            while nextLoose < loose.count, loose[nextLoose].fault.timeNs < item.beginNs {
                try put(faultLine(loose[nextLoose]))
                nextLoose += 1
            }
            switch item {
            case .complete(let record, let faults): try put(transactionLine(record, faults: faults))
            case .cutOff(let cut, let faults): try put(cutOffLine(cut, faults: faults))
            }
        }
        for item in loose[nextLoose...] { try put(faultLine(item)) }
    }

    private static func headerLine(_ c: HistoryHead) -> JSONValue {
        let h = c.header
        let header: JSONValue = .orderedObject([
            ("tool_version", .string(h.toolVersion)),
            ("host_kernel", .string(h.hostKernel)),
            ("backend", .string(h.backend)),
            ("kvm", .optional(h.kvm) { k in
                .orderedObject([
                    ("api_version", .int(k.apiVersion)), ("nr_memslots", .int(k.nrMemslots)),
                    ("readonly_mem", .bool(k.readonlyMem)), ("immediate_exit", .bool(k.immediateExit)),
                    ("multi_address_space", .int(k.multiAddressSpace)),
                ])
            }),
            ("max_slots", .int(h.maxSlots)),
            ("max_slot_size", .hex(h.maxSlotSize)),
            ("page_size", .hex(h.pageSize)),
            ("readonly_slots", .bool(h.readOnlySlots)),
            ("vcpus", .int(h.vcpus)),
            ("wait", .string(h.wait.rawValue)),
            ("inhibit", .bool(h.inhibit)),
            ("scenario", .optional(h.scenario, JSONValue.string)),
            ("seed", .optional(h.seed, JSONValue.hex)),
            ("command_line", .array(h.commandLine.map(JSONValue.string))),
            ("durability", .string(h.durability.rawValue)),
            ("clean_close", .bool(h.cleanClose)),
            ("measured", .orderedObject([
                ("created_unix_ns", .hex(h.createdUnixNs)), ("closed_unix_ns", .optional(h.closedUnixNs, JSONValue.hex)),
            ])),
        ])
        let line: JSONValue = .orderedObject([
            ("format", .string(formatName)),
            ("version", .int(version)),
        ] + (h.comment.map { [("comment", JSONValue.string($0))] } ?? []) + [
            ("transactions", .int(c.transactions)),
            ("faults", .int(c.faults)),
            ("header", header),
            ("backings", .array(c.backings.map { b in
                .orderedObject([("id", .int(b.id)), ("size", .hex(b.size)), ("kind", .string(b.kind.rawValue))])
            })),
            ("regions", .array(c.regions.sorted { $0.key < $1.key }.map { (asID, sections) in
                .orderedObject([("as", .int(asID)), ("sections", .array(sections.map { .orderedObject(sectionMembers($0)) }))])
            })),
            ("recorder", .optional(c.recorderStatistics) { s in
                .orderedObject([
                    ("last_sequence", .optional(s.lastSequence) { .int($0) }),
                    ("measured", .orderedObject([
                        ("queue_capacity", .optional(s.queueCapacity) { .int($0) }),
                        ("stalls", .optional(s.stalls) { .int($0) }),
                        ("stall_ns", .optional(s.stallNs, JSONValue.hex)),
                        ("batches", .optional(s.batches) { .int($0) }),
                        ("max_batch", .optional(s.maxBatch) { .int($0) }),
                    ])),
                ])
            }),
        ])
        return line
    }

    /// The members of a section (shared by regions and transaction sections).
    private static func sectionMembers(_ s: MemorySection) -> [(String, JSONValue)] {
        [
            ("start", .hex(s.range.start)),
            ("last", .hex(s.range.last)),
            ("region", .string(s.regionName)),
            ("kind", .string(s.kind.rawValue)),
            ("backing", .optional(s.backing) { b in .orderedObject([("id", .int(b.backing)), ("offset", .hex(b.offset))]) }),
            ("read_only", .bool(s.readOnly)),
            ("romd", .bool(s.romd)),
            ("dirty_log", .bool(s.dirtyLog)),
        ]
    }

    /// seq, as, outcome, sections, overlap: the intent, common to complete and cut-off lines.
    private static func intent(
        sequence: UInt64, addressSpace: UInt16, outcome: String, sections: [SectionChange], decision: OverlapDecision
    ) -> [(String, JSONValue)] {
        [
            ("seq", .int(sequence)),
            ("as", .int(addressSpace)),
            ("outcome", .string(outcome)),
            ("sections", .array(sections.map { change in
                .orderedObject([("change", .string(change.kind.rawValue))] + sectionMembers(change.section))
            })),
            ("overlap", .optional(decision.pair) { p in
                .orderedObject([
                    ("delete_index", .int(p.deleteIndex)), ("add_index", .int(p.addIndex)),
                    ("deleted_start", .hex(p.deleted.start)), ("deleted_last", .hex(p.deleted.last)),
                    ("added_start", .hex(p.added.start)), ("added_last", .hex(p.added.last)),
                ])
            }),
        ]
    }

    private static func transactionLine(_ r: TransactionRecord, faults: [NumberedFault]) -> JSONValue {
        let members = intent(sequence: r.sequence, addressSpace: r.addressSpace,
                             outcome: r.succeeded ? "ok" : "failed", sections: r.sections, decision: r.decision)
            + [
                ("inhibited", .bool(r.timing.inhibited)),
                ("slot_ops", .array(r.slotOps.map { op in
                    .orderedObject([
                        ("kind", .string(op.kind.rawValue)), ("slot", .int(op.slot.rawValue)),
                        ("start", .hex(op.range.start)), ("last", .hex(op.range.last)),
                        ("backing", .int(op.host.backing)), ("offset", .hex(op.host.offset)),
                        ("flags", .int(op.flags.rawValue)), ("errno", .int(op.errno)),
                        ("measured", .orderedObject([("duration_ns", .hex(op.durationNs))])),
                    ])
                })),
                ("digest", .orderedObject([("slots", .int(r.digest.count)), ("hash", .hex(r.digest.hash))])),
            ]
            // Only on the rare transaction that has one, so every other line reads as before.
            + (r.timing.drainTimeout.map { timeout in
                [("drain_timeout", .orderedObject([
                    ("vcpus", .array(timeout.vcpus.map { .int($0) })), ("vm_ioctls", .int(timeout.vmIoctls)),
                ]))]
            } ?? [])
            + [
                ("faults", .array(faults.map { faultObject($0, inFlight: false) })),
                ("measured", .orderedObject([
                    ("begin_ns", .hex(r.beginNs)), ("commit_ns", .hex(r.commitNs)),
                    ("drain_ns", .hex(r.timing.drainNs)), ("apply_ns", .hex(r.timing.applyNs)),
                    ("inhibit_ns", .hex(r.timing.inhibitNs)), ("vcpus_kicked", .int(r.timing.vcpusKicked)),
                ])),
            ]
        return .orderedObject(members)
    }

    private static func cutOffLine(_ c: CutOffTransaction, faults: [NumberedFault]) -> JSONValue {
        let members = intent(sequence: c.sequence, addressSpace: c.addressSpace, outcome: cutOffOutcome,
                             sections: c.sections, decision: c.decision)
            + [
                ("faults", .array(faults.map { faultObject($0, inFlight: false) })),
                ("measured", .orderedObject([("begin_ns", .hex(c.beginNs))])),
            ]
        return .orderedObject(members)
    }

    static let cutOffOutcome = "cut_off"

    private static func faultLine(_ item: NumberedFault) -> JSONValue {
        .orderedObject([("fault", faultObject(item, inFlight: true))])
    }

    /// A fault; `transaction_in_flight` is written only on a fault's own line
    /// (inside a transaction line it is that transaction).
    private static func faultObject(_ item: NumberedFault, inFlight: Bool) -> JSONValue {
        let f = item.fault
        var members: [(String, JSONValue)] = [
            ("id", .int(item.id)), ("vcpu", .int(f.vcpu)), ("gpa", .hex(f.gpa)), ("write", .bool(f.isWrite)),
        ]
        if inFlight { members.append(("transaction_in_flight", .optional(f.transactionInFlight) { .int($0) })) }
        members.append(("measured", .orderedObject([("time_ns", .hex(f.timeNs))])))
        return .orderedObject(members)
    }
}
