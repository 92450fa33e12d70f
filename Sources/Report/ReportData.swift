import Analysis
import JSON
import JournalStore
import MemoryModel
import Memslots

/// Everything the HTML report draws, as one JSON value embedded in the page: the
/// facts, the timeline (a mark per transaction, or bins past `markLimit`), the
/// faults, hazards, histograms and shares, each transaction's description (all of
/// them up to `detailLimit`, else the notable ones), and the memory map after
/// every transaction (or every k-th past `mapLimit`). The page computes nothing
/// about the history: what it shows of a map is what the history reducer built.
public struct ReportData {
    public struct Limits: Sendable {
        /// Transactions drawn one by one; past it, `bins` bins.
        public var marks = 5_000
        public var bins = 2_000
        /// Faults drawn one by one; past it, binned per vCPU.
        public var faults = 5_000
        /// Transactions whose description is kept whole; past it, only notable ones, at most `notable`.
        public var details = 5_000
        public var notable = 1_000
        /// Memory-map snapshots at most.
        public var maps = 1_000
        /// Rows of the hazard and fault tables at most.
        public var tableRows = 2_000

        public init() {}
    }

    /// Builds the data of `history` (its name and, for a journal, what `verify`
    /// said) in two passes over it, holding what the limits bound and never the
    /// history: the first finds the time span, the counts, the hazards' table,
    /// the longest inhibits and the histograms; the second draws.
    public static func build(_ history: some HistoryStream, name: String, integrity: String, limits: Limits = Limits())
        throws(JournalError) -> JSONValue
    {
        let head = try history.head()
        let loose = try history.looseFaults()

        // First pass.
        var count = 0, cutOff = 0, overlapping = 0, inhibitedCount = 0
        var timed = false
        var minBegin = UInt64.max, maxCommit: UInt64 = 0
        var maxFaultTime: UInt64?, maxFaultVCPU = -1
        var hazards = HazardAnalysis.Walker(keepingReport: false)
        var windows = 0
        var hazardTable: [JSONValue] = []
        var longest: [(ns: UInt64, sequence: UInt64)] = []
        var series = [("inhibit", Series()), ("drain", Series()), ("apply", Series()), ("slot operation", Series())]
        func noteFaults(_ faults: [NumberedFault]) {
            for f in faults {
                maxFaultTime = max(maxFaultTime ?? 0, f.fault.timeNs)
                maxFaultVCPU = max(maxFaultVCPU, f.fault.vcpu)
            }
        }
        try history.forEachTransaction { item in
            noteFaults(item.faults)
            guard case .complete(let r, _) = item else {
                cutOff += 1
                return
            }
            count += 1
            timed = timed || r.commitNs > r.beginNs
            minBegin = min(minBegin, r.beginNs)
            maxCommit = max(maxCommit, max(r.commitNs, r.beginNs))
            if r.decision.overlaps { overlapping += 1 }
            if let h = hazards.add(r), !h.inhibited {
                windows += h.windows.count
                for w in h.windows where hazardTable.count < limits.tableRows {
                    hazardTable.append(.array([.int(h.sequence), .int(h.addressSpace), .hex(w.range.start),
                                               .hex(w.range.last), .optional(w.durationNs) { .int($0) }]))
                }
            }
            if r.timing.inhibited {
                inhibitedCount += 1
                series[0].1.record(r.timing.inhibitNs)
                series[1].1.record(r.timing.drainNs)
                // The 100 longest inhibits (longest first, then by sequence).
                if longest.count < 100 || r.timing.inhibitNs > longest[longest.count - 1].ns {
                    let at = longest.firstIndex { $0.ns < r.timing.inhibitNs } ?? longest.count
                    longest.insert((r.timing.inhibitNs, r.sequence), at: at)
                    if longest.count > 100 { longest.removeLast() }
                }
            }
            series[2].1.record(r.timing.applyNs)
            for op in r.slotOps { series[3].1.record(op.durationNs) }
        }
        noteFaults(loose)
        // Imported traces without timestamps are laid out in order, 1 ms per transaction.
        func begin(_ index: Int, _ r: TransactionRecord) -> UInt64 { timed ? r.beginNs : UInt64(index) * 1_000_000 }
        func commit(_ index: Int, _ r: TransactionRecord) -> UInt64 {
            timed ? max(r.commitNs, r.beginNs) : UInt64(index) * 1_000_000 + 800_000
        }
        let origin = count == 0 ? 0 : timed ? minBegin : 0
        let lastCommit = count == 0 ? 0 : timed ? maxCommit : UInt64(count - 1) * 1_000_000 + 800_000
        let end = max(lastCommit, timed ? maxFaultTime.flatMap { $0 >= origin ? $0 : nil } ?? 0 : 0)
        func at(_ ns: UInt64) -> JSONValue { .int(ns >= origin ? ns - origin : 0) }
        let span = max(end - origin, 1)
        let width = (span + UInt64(limits.bins) - 1) / UInt64(limits.bins)
        let faultCount = head.faults

        var notes: [String] = []
        if !timed { notes.append("this history has no times: transactions are laid out in order, 1 ms each") }

        // Second pass.
        hazards = HazardAnalysis.Walker(keepingReport: false)
        let longestSequences = Set(longest.map(\.sequence))
        let step = max(1, (count + limits.maps - 1) / limits.maps)
        var marks: [JSONValue] = []
        var bins: [Int: (count: Int, inhibited: Int, overlapping: Int, maxInhibit: UInt64, first: UInt64, last: UInt64, hazards: Int)] = [:]
        var faultMarks: [(Int, JSONValue)] = []
        var faultBins: [[Int]: Int] = [:]
        var faultRows: [(Int, JSONValue)] = []
        var details: [(String, JSONValue)] = []
        var maps: [JSONValue] = []
        var index = 0
        func draw(_ faults: [NumberedFault], placedAt transactionBegin: UInt64) {
            for numbered in faults {
                let f = numbered.fault
                let t = timed ? f.timeNs : transactionBegin + 400_000
                if faultCount <= limits.faults {
                    faultMarks.append((numbered.id, .array([.int(numbered.id), .int(f.vcpu), at(t), .hex(f.gpa), .bool(f.isWrite),
                                                            .optional(f.transactionInFlight) { .int($0) }])))
                } else {
                    faultBins[[f.vcpu, Int((t >= origin ? t - origin : 0) / width)], default: 0] += 1
                }
                if numbered.id <= limits.tableRows {
                    faultRows.append((numbered.id, .array([.int(numbered.id), .int(f.vcpu), .hex(f.gpa), .bool(f.isWrite), at(t),
                                                          .optional(f.transactionInFlight) { .int($0) }])))
                }
            }
        }
        // Without times, a fault of no complete transaction is placed on the first.
        let unplaced: UInt64 = 0
        try history.forEachTransaction { item in
            guard case .complete(let r, let faults) = item else {
                draw(item.faults, placedAt: unplaced)
                return
            }
            let i = index
            index += 1
            let hazardous = hazards.add(r).map { !$0.inhibited } ?? false
            draw(faults, placedAt: begin(i, r))
            if count <= limits.marks {
                marks.append(.array([
                    .int(r.sequence), .int(r.addressSpace), at(begin(i, r)), at(commit(i, r)),
                    .int(timed ? r.timing.drainNs : 0), .int(timed ? r.timing.applyNs : 0), .bool(r.timing.inhibited),
                    .bool(r.decision.overlaps), .int(r.slotOps.count), .int(r.failedOps.count), .bool(hazardous),
                ]))
            } else {
                let key = Int((begin(i, r) - origin) / width)
                var bin = bins[key] ?? (0, 0, 0, 0, r.sequence, r.sequence, 0)
                bin.count += 1
                if r.timing.inhibited { bin.inhibited += 1 }
                if r.decision.overlaps { bin.overlapping += 1 }
                bin.maxInhibit = max(bin.maxInhibit, r.timing.inhibitNs)
                bin.first = min(bin.first, r.sequence)
                bin.last = max(bin.last, r.sequence)
                if hazardous { bin.hazards += 1 }
                bins[key] = bin
            }
            // Descriptions: all of them, or the notable ones.
            let notable = hazardous || !faults.isEmpty || !r.succeeded || r.timing.drainTimeout != nil
                || longestSequences.contains(r.sequence)
            if count <= limits.details || (notable && details.count < limits.notable) {
                details.append(("\(r.sequence)", .array(TransactionDescription.lines(r).map(JSONValue.string))))
            }
            // The memory map after every transaction, or every k-th (the hazard
            // walker has folded this transaction in already).
            if (i + 1) % step == 0 || i == count - 1 {
                maps.append(.orderedObject([
                    ("seq", .int(r.sequence)),
                    ("spaces", .array(hazards.history.addressSpaces.map { space in
                        .orderedObject([
                            ("as", .int(space)),
                            ("sections", .array(hazards.history.view(space).map { s in
                                .array([.hex(s.range.start), .hex(s.range.last), .string(s.kind.rawValue), .string("\(s)")])
                            })),
                            ("slots", .array(hazards.history.slots.slots(addressSpace: space).map { .string("\($0)") })),
                        ])
                    })),
                    ("changed", .array((r.sections.map { "\($0)" } + r.slotOps.map { "\($0)" }).map(JSONValue.string))),
                ]))
            }
        }
        draw(loose, placedAt: unplaced)

        var timeline: [(String, JSONValue)] = [("start", .int(0)), ("end", at(end))]
        if count <= limits.marks {
            timeline.append(("marks", .array(marks)))
        } else {
            timeline.append(("bins", .array(bins.keys.sorted().map { key in
                let b = bins[key]!
                return .array([.int(UInt64(key) * width), .int(UInt64(key + 1) * width), .int(b.count), .int(b.inhibited),
                               .int(b.overlapping), .int(b.maxInhibit), .int(b.first), .int(b.last), .int(b.hazards)])
            })))
            notes.append("\(count) transactions: the timeline draws them in \(bins.count) bins of \(TransactionDescription.micros(width)), not one by one")
        }
        let vcpus = max(head.header.vcpus, maxFaultVCPU + 1)
        var faults: [(String, JSONValue)] = [("vcpus", .int(vcpus)), ("count", .int(faultCount))]
        if faultCount <= limits.faults {
            faults.append(("marks", .array(faultMarks.sorted { $0.0 < $1.0 }.map(\.1))))
        } else {
            faults.append(("bins", .array(faultBins.keys.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }.map { key in
                .array([.int(key[0]), .int(UInt64(key[1]) * width), .int(UInt64(key[1] + 1) * width), .int(faultBins[key]!)])
            })))
            notes.append("\(faultCount) faults: drawn in bins per vCPU, not one by one")
        }
        if windows > limits.tableRows {
            notes.append("\(windows) unprotected windows: the table lists the first \(limits.tableRows)")
        }
        if faultCount > limits.tableRows {
            notes.append("\(faultCount) faults: the table lists the first \(limits.tableRows)")
        }
        if count > limits.details {
            notes.append("descriptions kept for \(details.count) of \(count) transactions: the first \(limits.notable) of those with hazards, faults, failed operations or drain timeouts, or among the 100 longest inhibits")
        }
        if step > 1 { notes.append("the memory map is kept after every \(step)th transaction (and the last)") }

        return .orderedObject([
            ("title", .string(name)),
            ("facts", .array(facts(head, complete: count, cutOff: cutOff, integrity: integrity).map {
                .array([.string($0.0), .string($0.1)])
            })),
            ("timed", .bool(timed)),
            ("notes", .array(notes.map(JSONValue.string))),
            ("transactions", .int(count)),
            ("timeline", .orderedObject(timeline)),
            ("faults", .orderedObject(faults + [("table", .array(faultRows.sorted { $0.0 < $1.0 }.map(\.1)))])),
            ("hazards", .array(hazardTable)),
            ("histograms", timed ? .array(series.map { $0.1.json(name: $0.0) }) : .null),
            ("shares", .orderedObject([
                ("transactions", .int(count)), ("overlapping", .int(overlapping)), ("inhibited", .int(inhibitedCount)),
            ])),
            ("details", .orderedObject(details)),
            ("maps", .array(maps)),
        ])
    }

    static func facts(_ head: HistoryHead, complete: Int, cutOff: Int, integrity: String) -> [(String, String)] {
        let h = head.header
        var facts: [(String, String)] = [
            ("backend", h.backend + (h.kvm.map { " (KVM API \($0.apiVersion), \($0.nrMemslots) memslots)" } ?? "")),
            ("host", h.hostKernel),
            ("command", h.commandLine.joined(separator: " ")),
            ("vCPUs", "\(h.vcpus)"),
            ("inhibit", h.inhibit ? "on (\(h.wait.rawValue) wait)" : "off"),
            ("closed cleanly", h.cleanClose ? "yes" : "no (cut short or still recording)"),
            ("transactions", "\(complete) complete, \(cutOff) cut off"),
            ("spurious faults", "\(head.faults)"),
            ("integrity", integrity),
        ]
        if let scenario = h.scenario { facts.insert(("scenario", scenario + (h.seed.map { ", seed \($0)" } ?? "")), at: 3) }
        if let comment = h.comment { facts.append(("comment", comment)) }
        return facts
    }

    /// One log-scale histogram (power-of-two buckets, exact counts) with p50 and
    /// p99 (from an HdrHistogram, three significant digits), counted one value at a time.
    struct Series {
        private var buckets: [Int: Int] = [:]
        private var histogram = DurationHistogram()

        mutating func record(_ v: UInt64) {
            buckets[v == 0 ? 0 : 64 - v.leadingZeroBitCount, default: 0] += 1
            histogram.record(v)
        }

        func json(name: String) -> JSONValue {
            let percentiles = histogram.percentiles
            return .orderedObject([
                ("name", .string(name)), ("count", .int(histogram.count)),
                ("p50", percentiles.map { .int($0.p50) } ?? .null), ("p99", percentiles.map { .int($0.p99) } ?? .null),
                // Bucket k holds [2^(k-1), 2^k) ns; bucket 0 holds 0.
                ("buckets", .array(buckets.keys.sorted().map { k in
                    .array([.int(k == 0 ? 0 : UInt64(1) << (k - 1)), .int(k == 0 ? 1 : (k >= 64 ? UInt64.max : UInt64(1) << k)),
                            .int(buckets[k]!)])
                })),
            ])
        }
    }
}
