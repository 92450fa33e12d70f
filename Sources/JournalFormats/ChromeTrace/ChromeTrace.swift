import JSON
import JournalStore
import Memslots

/// A journal in the Trace Event Format (the JSON that ui.perfetto.dev and
/// chrome://tracing open): `memjournal export J --format chrome-trace`.
///
/// One process, the journal. Tracks (threads):
/// - `listener as N` (tid 1 + N): a complete event (`X`) per transaction from its
///   begin to its commit, its sections, decision and slot operations in `args`;
///   inside it, `drain` and `apply` as nested complete events. The journal stores
///   their durations, not their starts: they are placed so that the inhibit ends
///   at the commit (drain, then apply, then the release) — or, without an
///   inhibit, so that the apply ends at the commit — and clipped to the
///   transaction, so slices always nest;
/// - `vCPU N` (tid 1000 + N): an instant event (`i`) per spurious fault, with
///   its address, access and transaction in flight;
/// - a counter (`C`) `installed slots`, one series per address space, set at
///   each transaction's commit from its slot-table digest.
/// Times are microseconds from the first transaction's begin. A history without
/// times (an imported trace without timestamps) is laid out in its order, one
/// transaction per millisecond, and the metadata says so.
public enum ChromeTrace {
    static let pid = 1

    /// The trace of `history`, named after `name`, as text handed to `emit` a
    /// piece at a time: two passes over the history (the layout needs the first
    /// begin and whether there are times at all before the first event), holding
    /// one transaction at a time. A fault is written with its transaction.
    public static func encode(
        _ history: some HistoryStream, name: String, _ emit: (String) throws(JournalError) -> Void
    ) throws(JournalError) {
        let head = try history.head()
        var timed = false
        var origin = UInt64.max
        var spaces = Set<UInt16>()
        var vcpus = Set<Int>()
        var completeCount = 0
        try history.forEachTransaction { item in
            if case .complete(let record, _) = item {
                timed = timed || record.commitNs > record.beginNs
                origin = min(origin, record.beginNs)
                spaces.insert(record.addressSpace)
                completeCount += 1
            }
            for fault in item.faults { vcpus.insert(fault.fault.vcpu) }
        }
        let loose = try history.looseFaults()
        for fault in loose { vcpus.insert(fault.fault.vcpu) }
        if !timed { origin = 0 }
        // Time points in whole nanoseconds since the origin (so slices nest exactly);
        // an untimed history is laid out by sequence.
        func offset(_ ns: UInt64) -> UInt64 { ns >= origin ? ns - origin : 0 }
        func span(_ r: TransactionRecord) -> (start: UInt64, end: UInt64) {
            guard timed else { return (r.sequence &* 1_000_000, r.sequence &* 1_000_000 &+ 500_000) }
            let start = offset(r.beginNs)
            return (start, max(start, offset(r.commitNs)))
        }

        var events = 0
        func event(_ value: JSONValue) throws(JournalError) {
            try emit(JSONValue.element(value, index: events))
            events += 1
        }
        func fault(_ numbered: NumberedFault, at transactionStart: UInt64?) throws(JournalError) {
            let f = numbered.fault
            try event(.orderedObject([
                ("name", .string("spurious fault")), ("cat", .string("fault")), ("ph", .string("i")), ("s", .string("t")),
                ("ts", micros(timed ? offset(f.timeNs) : transactionStart ?? 0)), ("pid", .int(pid)),
                ("tid", .int(1000 + f.vcpu)),
                ("args", .orderedObject([
                    ("fault", .int(numbered.id)), ("gpa", .hex(f.gpa)), ("access", .string(f.isWrite ? "write" : "read")),
                    ("transaction", f.transactionInFlight.map { .int($0) } ?? .null),
                ])),
            ]))
        }

        try emit(JSONValue.objectOpening([], array: "traceEvents"))
        try event(metadata("process_name", tid: 0, name: "memjournal \(name)"))
        for space in spaces.sorted() { try event(metadata("thread_name", tid: 1 + Int(space), name: "listener as \(space)")) }
        for vcpu in vcpus.sorted() { try event(metadata("thread_name", tid: 1000 + vcpu, name: "vCPU \(vcpu)")) }
        var installed: [UInt16: Int] = [:]
        try history.forEachTransaction { item throws(JournalError) in
            guard case .complete(let record, let faults) = item else {
                // A cut-off transaction has no slice; what happened in it still shows.
                for f in item.faults { try fault(f, at: nil) }
                return
            }
            let (start, end) = span(record)
            let tid = 1 + Int(record.addressSpace)
            try event(complete("transaction \(record.sequence)", category: "transaction", tid: tid, start: start,
                               end: end, args: arguments(record)))
            for (part, from, to) in parts(record, start: start, end: end, timed: timed) {
                try event(complete(part, category: part, tid: tid, start: from, end: to, args: .object([])))
            }
            installed[record.addressSpace] = record.digest.count
            try event(.orderedObject([
                ("name", .string("installed slots")), ("ph", .string("C")), ("ts", micros(end)), ("pid", .int(pid)),
                ("tid", .int(0)),
                ("args", .orderedObject(installed.sorted { $0.key < $1.key }.map { ("as\($0.key)", .int($0.value)) })),
            ]))
            for f in faults { try fault(f, at: start) }
        }
        for f in loose { try fault(f, at: nil) }
        try emit(JSONValue.objectClosing(after: [
            ("displayTimeUnit", .string("ns")),
            ("otherData", .orderedObject([
                ("journal", .string(name)), ("backend", .string(head.header.backend)),
                ("transactions", .int(completeCount)), ("faults", .int(head.faults)),
                ("times", .string(timed ? "recorded (µs since the first begin)" : "none recorded: laid out in order, 1 ms per transaction")),
            ])),
        ]) + "\n")
    }

    /// The drain and apply slices inside a transaction spanning [start, end] (ns).
    static func parts(_ r: TransactionRecord, start: UInt64, end: UInt64, timed: Bool)
        -> [(String, UInt64, UInt64)]
    {
        guard timed else { return [] }
        func back(_ ns: UInt64) -> UInt64 { end - min(ns, end - start) }
        func forward(_ from: UInt64, _ ns: UInt64) -> UInt64 { from + min(ns, end - from) }
        let t = r.timing
        if t.inhibited {
            let inhibitStart = back(t.inhibitNs)
            let drainEnd = forward(inhibitStart, t.drainNs)
            return [("drain", inhibitStart, drainEnd), ("apply", drainEnd, forward(drainEnd, t.applyNs))]
        }
        return [("apply", back(t.applyNs), end)]
    }

    /// Nanoseconds as the format's microseconds, exactly (three decimals).
    static func micros(_ ns: UInt64) -> JSONValue {
        let whole = String(ns / 1000)
        let fraction = ns % 1000
        guard fraction != 0 else { return .number(whole) }
        let digits = String(fraction)
        return .number(whole + "." + String(repeating: "0", count: 3 - digits.count) + digits)
    }

    static func arguments(_ r: TransactionRecord) -> JSONValue {
        .orderedObject([
            ("sequence", .int(r.sequence)), ("address_space", .int(r.addressSpace)),
            ("sections", .array(r.sections.map { .string("\($0)") })),
            ("decision", r.decision.pair.map { .string("delete #\($0.deleteIndex) \($0.deleted) overlaps add #\($0.addIndex) \($0.added)") }
                ?? .string("no overlap")),
            ("inhibited", .bool(r.timing.inhibited)),
            ("slot_ops", .array(r.slotOps.map { .string("\($0)") })),
            ("drain_ns", .int(r.timing.drainNs)), ("apply_ns", .int(r.timing.applyNs)), ("inhibit_ns", .int(r.timing.inhibitNs)),
            ("slots_after", .int(r.digest.count)),
        ])
    }

    static func complete(_ name: String, category: String, tid: Int, start: UInt64, end: UInt64, args: JSONValue) -> JSONValue {
        .orderedObject([
            ("name", .string(name)), ("cat", .string(category)), ("ph", .string("X")), ("ts", micros(start)),
            ("dur", micros(end - start)), ("pid", .int(pid)), ("tid", .int(tid)), ("args", args),
        ])
    }

    static func metadata(_ kind: String, tid: Int, name: String) -> JSONValue {
        .orderedObject([
            ("name", .string(kind)), ("ph", .string("M")), ("pid", .int(pid)), ("tid", .int(tid)),
            ("args", .orderedObject([("name", .string(name))])),
        ])
    }

    /// Writes the trace of the journal at `journal` to `output` (never overwritten),
    /// verifying the journal first unless `verify` is false.
    public static func export(journal: String, to output: String, verify: Bool = true, note: (String) -> Void = { _ in })
        throws(JournalError)
    {
        // A journal is read a window at a time; its JSONL form is read whole.
        let history: any HistoryStream = try HistoryFile.isJournal(journal)
            ? try HistoryFile.reader(of: journal, verify: verify, note: note)
            : try CanonicalJSONL.read(journal)
        try TextFile.writeNew(to: output) { (write: ([UInt8]) throws(JournalError) -> Void) throws(JournalError) in
            try encode(history, name: journal) { text throws(JournalError) in try write(Array(text.utf8)) }
        }
    }
}
