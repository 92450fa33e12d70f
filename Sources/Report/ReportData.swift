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

    /// Builds the data of `contents` (its name and, for a journal, what `verify` said).
    public static func build(_ contents: JournalContents, name: String, integrity: String, limits: Limits = Limits())
        -> JSONValue
    {
        let records = contents.records
        let hazards = HazardAnalysis.analyse(records)
        let unprotected = hazards.transactions.filter { !$0.inhibited }
        let timed = records.contains { $0.commitNs > $0.beginNs }
        // Imported traces without timestamps are laid out in order, 1 ms per transaction.
        func begin(_ index: Int) -> UInt64 { timed ? records[index].beginNs : UInt64(index) * 1_000_000 }
        func commit(_ index: Int) -> UInt64 {
            timed ? max(records[index].commitNs, records[index].beginNs) : UInt64(index) * 1_000_000 + 800_000
        }
        let origin = records.indices.map(begin).min() ?? 0
        let faultTimes = timed ? contents.faults.map(\.timeNs).filter { $0 >= origin } : []
        let end = max(records.indices.map(commit).max() ?? 0, faultTimes.max() ?? 0)
        func at(_ ns: UInt64) -> JSONValue { .int(ns >= origin ? ns - origin : 0) }

        var notes: [String] = []
        if !timed { notes.append("this history has no times: transactions are laid out in order, 1 ms each") }

        // The timeline.
        let hazardous = Set(unprotected.map(\.sequence))
        var timeline: [(String, JSONValue)] = [("start", .int(0)), ("end", at(end))]
        if records.count <= limits.marks {
            timeline.append(("marks", .array(records.indices.map { i in
                let r = records[i]
                return .array([
                    .int(r.sequence), .int(r.addressSpace), at(begin(i)), at(commit(i)),
                    .int(timed ? r.timing.drainNs : 0), .int(timed ? r.timing.applyNs : 0), .bool(r.timing.inhibited),
                    .bool(r.decision.overlaps), .int(r.slotOps.count), .int(r.failedOps.count),
                    .bool(hazardous.contains(r.sequence)),
                ])
            })))
        } else {
            let span = max(end - origin, 1)
            let width = (span + UInt64(limits.bins) - 1) / UInt64(limits.bins)
            var bins: [Int: (count: Int, inhibited: Int, overlapping: Int, maxInhibit: UInt64, first: UInt64, last: UInt64, hazards: Int)] = [:]
            for i in records.indices {
                let r = records[i]
                let key = Int((begin(i) - origin) / width)
                var bin = bins[key] ?? (0, 0, 0, 0, r.sequence, r.sequence, 0)
                bin.count += 1
                if r.timing.inhibited { bin.inhibited += 1 }
                if r.decision.overlaps { bin.overlapping += 1 }
                bin.maxInhibit = max(bin.maxInhibit, r.timing.inhibitNs)
                bin.first = min(bin.first, r.sequence)
                bin.last = max(bin.last, r.sequence)
                if hazardous.contains(r.sequence) { bin.hazards += 1 }
                bins[key] = bin
            }
            timeline.append(("bins", .array(bins.keys.sorted().map { key in
                let b = bins[key]!
                return .array([.int(UInt64(key) * width), .int(UInt64(key + 1) * width), .int(b.count), .int(b.inhibited),
                               .int(b.overlapping), .int(b.maxInhibit), .int(b.first), .int(b.last), .int(b.hazards)])
            })))
            notes.append("\(records.count) transactions: the timeline draws them in \(bins.count) bins of \(TransactionDescription.micros(width)), not one by one")
        }

        // Faults, on a lane per vCPU.
        let vcpus = max(contents.header.vcpus, (contents.faults.map(\.vcpu).max() ?? -1) + 1)
        var faults: [(String, JSONValue)] = [("vcpus", .int(vcpus)), ("count", .int(contents.faults.count))]
        let positions = timed ? [:] : Dictionary(records.enumerated().map { ($1.sequence, $0) }) { first, _ in first }
        let faultTime = { (f: SpuriousFault) -> UInt64 in
            if timed { return f.timeNs }
            // No times: place it on its transaction.
            let index = f.transactionInFlight.flatMap { positions[$0] } ?? 0
            return begin(index) + 400_000
        }
        if contents.faults.count <= limits.faults {
            faults.append(("marks", .array(contents.faults.enumerated().map { n, f in
                .array([.int(n + 1), .int(f.vcpu), at(faultTime(f)), .hex(f.gpa), .bool(f.isWrite),
                        .optional(f.transactionInFlight) { .int($0) }])
            })))
        } else {
            let span = max(end - origin, 1)
            let width = (span + UInt64(limits.bins) - 1) / UInt64(limits.bins)
            var bins: [[Int]: Int] = [:]
            for f in contents.faults {
                let t = faultTime(f)
                bins[[f.vcpu, Int((t >= origin ? t - origin : 0) / width)], default: 0] += 1
            }
            faults.append(("bins", .array(bins.keys.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) }.map { key in
                .array([.int(key[0]), .int(UInt64(key[1]) * width), .int(UInt64(key[1] + 1) * width), .int(bins[key]!)])
            })))
            notes.append("\(contents.faults.count) faults: drawn in bins per vCPU, not one by one")
        }
        let faultTable = contents.faults.prefix(limits.tableRows).enumerated().map { n, f -> JSONValue in
            .array([.int(n + 1), .int(f.vcpu), .hex(f.gpa), .bool(f.isWrite), at(faultTime(f)),
                    .optional(f.transactionInFlight) { .int($0) }])
        }

        // Hazards: every unprotected window, up to a table's worth.
        let windows = unprotected.reduce(0) { $0 + $1.windows.count }
        let hazardTable = unprotected.lazy.flatMap { t in
            t.windows.map { w -> JSONValue in
                .array([.int(t.sequence), .int(t.addressSpace), .hex(w.range.start), .hex(w.range.last),
                        .optional(w.durationNs) { .int($0) }])
            }
        }.prefix(limits.tableRows)
        if windows > limits.tableRows {
            notes.append("\(windows) unprotected windows: the table lists the first \(limits.tableRows)")
        }
        if contents.faults.count > limits.tableRows {
            notes.append("\(contents.faults.count) faults: the table lists the first \(limits.tableRows)")
        }

        // Descriptions: all of them, or the notable ones.
        var detailed: [TransactionRecord] = records
        if records.count > limits.details {
            let faulted = Set(contents.faults.compactMap(\.transactionInFlight))
            let longest = Set(records.sorted { $0.timing.inhibitNs > $1.timing.inhibitNs }.prefix(100).map(\.sequence))
            detailed = records.filter {
                hazardous.contains($0.sequence) || faulted.contains($0.sequence) || !$0.failedOps.isEmpty
                    || $0.timing.drainTimeout != nil || longest.contains($0.sequence)
            }.prefix(limits.notable).map { $0 }
            notes.append("descriptions kept for \(detailed.count) of \(records.count) transactions: the first \(limits.notable) of those with hazards, faults, failed operations or drain timeouts, or among the 100 longest inhibits")
        }
        let details = JSONValue.orderedObject(detailed.map { r in
            ("\(r.sequence)", .array(TransactionDescription.lines(r).map(JSONValue.string)))
        })

        // Memory maps after every transaction, or every k-th.
        let step = max(1, (records.count + limits.maps - 1) / limits.maps)
        if step > 1 { notes.append("the memory map is kept after every \(step)th transaction (and the last)") }
        var history = HistoryReducer()
        var maps: [JSONValue] = []
        for (index, record) in records.enumerated() {
            history.apply(record)
            guard (index + 1) % step == 0 || index == records.count - 1 else { continue }
            maps.append(.orderedObject([
                ("seq", .int(record.sequence)),
                ("spaces", .array(history.addressSpaces.map { space in
                    .orderedObject([
                        ("as", .int(space)),
                        ("sections", .array(history.view(space).map { s in
                            .array([.hex(s.range.start), .hex(s.range.last), .string(s.kind.rawValue), .string("\(s)")])
                        })),
                        ("slots", .array(history.slots.slots(addressSpace: space).map { .string("\($0)") })),
                    ])
                })),
                ("changed", .array((record.sections.map { "\($0)" } + record.slotOps.map { "\($0)" }).map(JSONValue.string))),
            ]))
        }

        return .orderedObject([
            ("title", .string(name)),
            ("facts", .array(facts(contents, integrity: integrity).map { .array([.string($0.0), .string($0.1)]) })),
            ("timed", .bool(timed)),
            ("notes", .array(notes.map(JSONValue.string))),
            ("transactions", .int(records.count)),
            ("timeline", .orderedObject(timeline)),
            ("faults", .orderedObject(faults + [("table", .array(faultTable))])),
            ("hazards", .array(Array(hazardTable))),
            ("histograms", timed ? histograms(records) : .null),
            ("shares", .orderedObject([
                ("transactions", .int(records.count)),
                ("overlapping", .int(records.filter(\.decision.overlaps).count)),
                ("inhibited", .int(records.filter(\.timing.inhibited).count)),
            ])),
            ("details", details),
            ("maps", .array(maps)),
        ])
    }

    static func facts(_ c: JournalContents, integrity: String) -> [(String, String)] {
        let h = c.header
        var facts: [(String, String)] = [
            ("backend", h.backend + (h.kvm.map { " (KVM API \($0.apiVersion), \($0.nrMemslots) memslots)" } ?? "")),
            ("host", h.hostKernel),
            ("command", h.commandLine.joined(separator: " ")),
            ("vCPUs", "\(h.vcpus)"),
            ("inhibit", h.inhibit ? "on (\(h.wait.rawValue) wait)" : "off"),
            ("closed cleanly", h.cleanClose ? "yes" : "no (cut short or still recording)"),
            ("transactions", "\(c.records.count) complete, \(c.cutOff.count) cut off"),
            ("spurious faults", "\(c.faults.count)"),
            ("integrity", integrity),
        ]
        if let scenario = h.scenario { facts.insert(("scenario", scenario + (h.seed.map { ", seed \($0)" } ?? "")), at: 3) }
        if let comment = h.comment { facts.append(("comment", comment)) }
        return facts
    }

    /// Log-scale histograms (power-of-two buckets) with p50 and p99.
    static func histograms(_ records: [TransactionRecord]) -> JSONValue {
        let inhibited = records.filter(\.timing.inhibited)
        let series: [(String, [UInt64])] = [
            ("inhibit", inhibited.map(\.timing.inhibitNs)),
            ("drain", inhibited.map(\.timing.drainNs)),
            ("apply", records.map(\.timing.applyNs)),
            ("slot operation", records.flatMap { $0.slotOps.map(\.durationNs) }),
        ]
        return .array(series.map { name, values in
            let sorted = values.sorted()
            var buckets: [Int: Int] = [:]
            for v in sorted { buckets[v == 0 ? 0 : 64 - v.leadingZeroBitCount, default: 0] += 1 }
            func percentile(_ p: Double) -> JSONValue {
                sorted.isEmpty ? .null : .int(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
            }
            return .orderedObject([
                ("name", .string(name)), ("count", .int(sorted.count)), ("p50", percentile(0.5)), ("p99", percentile(0.99)),
                // Bucket k holds [2^(k-1), 2^k) ns; bucket 0 holds 0.
                ("buckets", .array(buckets.keys.sorted().map { k in
                    .array([.int(k == 0 ? 0 : UInt64(1) << (k - 1)), .int(k == 0 ? 1 : (k >= 64 ? UInt64.max : UInt64(1) << k)),
                            .int(buckets[k]!)])
                })),
            ])
        })
    }
}
