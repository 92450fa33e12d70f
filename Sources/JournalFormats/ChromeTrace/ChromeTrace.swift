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

    /// The trace of `contents`, named after `name`.
    public static func encode(_ contents: JournalContents, name: String) -> JSONValue {
        let records = contents.records
        let timed = records.contains { $0.commitNs > $0.beginNs }
        let origin = timed ? (records.map(\.beginNs).min() ?? 0) : 0
        // Time points in whole nanoseconds since the origin (so slices nest exactly);
        // an untimed history is laid out by sequence.
        func offset(_ ns: UInt64) -> UInt64 { ns >= origin ? ns - origin : 0 }
        func span(_ r: TransactionRecord) -> (start: UInt64, end: UInt64) {
            guard timed else { return (r.sequence &* 1_000_000, r.sequence &* 1_000_000 &+ 500_000) }
            let start = offset(r.beginNs)
            return (start, max(start, offset(r.commitNs)))
        }

        var events: [JSONValue] = [metadata("process_name", tid: 0, name: "memjournal \(name)")]
        let spaces = Set(records.map(\.addressSpace)).sorted()
        for space in spaces { events.append(metadata("thread_name", tid: 1 + Int(space), name: "listener as \(space)")) }
        let vcpus = Set(contents.faults.map(\.vcpu)).sorted()
        for vcpu in vcpus { events.append(metadata("thread_name", tid: 1000 + vcpu, name: "vCPU \(vcpu)")) }

        var installed: [UInt16: Int] = [:]
        var spanBySequence: [UInt64: (UInt64, UInt64)] = [:]
        for record in records {
            let (start, end) = span(record)
            spanBySequence[record.sequence] = (start, end)
            let tid = 1 + Int(record.addressSpace)
            events.append(complete("transaction \(record.sequence)", category: "transaction", tid: tid, start: start,
                                   end: end, args: arguments(record)))
            for (part, from, to) in parts(record, start: start, end: end, timed: timed) {
                events.append(complete(part, category: part, tid: tid, start: from, end: to, args: .object([])))
            }
            installed[record.addressSpace] = record.digest.count
            events.append(.orderedObject([
                ("name", .string("installed slots")), ("ph", .string("C")), ("ts", micros(end)), ("pid", .int(pid)),
                ("tid", .int(0)),
                ("args", .orderedObject(installed.sorted { $0.key < $1.key }.map { ("as\($0.key)", .int($0.value)) })),
            ]))
        }
        for (index, fault) in contents.faults.enumerated() {
            let ts: UInt64 = if timed {
                offset(fault.timeNs)
            } else {
                fault.transactionInFlight.flatMap { spanBySequence[$0]?.0 } ?? 0
            }
            events.append(.orderedObject([
                ("name", .string("spurious fault")), ("cat", .string("fault")), ("ph", .string("i")), ("s", .string("t")),
                ("ts", micros(ts)), ("pid", .int(pid)), ("tid", .int(1000 + fault.vcpu)),
                ("args", .orderedObject([
                    ("fault", .int(index + 1)), ("gpa", .hex(fault.gpa)), ("access", .string(fault.isWrite ? "write" : "read")),
                    ("transaction", fault.transactionInFlight.map { .int($0) } ?? .null),
                ])),
            ]))
        }
        return .orderedObject([
            ("traceEvents", .array(events)), ("displayTimeUnit", .string("ns")),
            ("otherData", .orderedObject([
                ("journal", .string(name)), ("backend", .string(contents.header.backend)),
                ("transactions", .int(records.count)), ("faults", .int(contents.faults.count)),
                ("times", .string(timed ? "recorded (µs since the first begin)" : "none recorded: laid out in order, 1 ms per transaction")),
            ])),
        ])
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
        let contents = try HistoryFile.contents(of: journal, verify: verify, note: note)
        try TextFile.writeNew(Array((encode(contents, name: journal).text + "\n").utf8), to: output)
    }
}
