import MemoryModel
import Memslots

/// A fault with its place in the journal's arrival order (`faults.id`, 1…N).
public typealias NumberedFault = (id: Int, fault: SpuriousFault)

/// One transaction of a history in sequence order, complete or cut off, with
/// the faults that happened while it was in flight.
public enum HistoryItem {
    case complete(TransactionRecord, faults: [NumberedFault])
    case cutOff(CutOffTransaction, faults: [NumberedFault])

    public var sequence: UInt64 {
        switch self {
        case .complete(let record, _): record.sequence
        case .cutOff(let cut, _): cut.sequence
        }
    }

    /// The faults that happened while it was in flight.
    public var faults: [NumberedFault] {
        switch self {
        case .complete(_, let faults), .cutOff(_, let faults): faults
        }
    }

    public var beginNs: UInt64 {
        switch self {
        case .complete(let record, _): record.beginNs
        case .cutOff(let cut, _): cut.beginNs
        }
    }
}

/// Everything about a history but its transactions: what is read once, before them.
public struct HistoryHead: Sendable {
    public var header: JournalHeader
    public var backings: [BackingDescriptor]
    public var regions: [UInt16: [MemorySection]]
    public var recorderStatistics: StoredRecorderStatistics?
    /// Transactions, complete and cut off.
    public var transactions: Int
    public var faults: Int
}

/// A history walked in sequence order, in memory that does not grow with it:
/// a journal on disk streams (`JournalReader`), a history in memory
/// (`JournalContents`) is walked the same way, so whatever consumes a history
/// in order — export, first of all — is written once.
public protocol HistoryStream {
    func head() throws(JournalError) -> HistoryHead
    /// Faults with no transaction in flight, or naming one not in the history, in arrival order.
    func looseFaults() throws(JournalError) -> [NumberedFault]
    /// Every transaction in sequence order, each with its faults.
    func forEachTransaction(_ body: (HistoryItem) throws(JournalError) -> Void) throws(JournalError)
}

extension JournalContents: HistoryStream {
    public func head() throws(JournalError) -> HistoryHead {
        HistoryHead(header: header, backings: backings, regions: regions, recorderStatistics: recorderStatistics,
                    transactions: transactionCount, faults: faults.count)
    }

    public func looseFaults() throws(JournalError) -> [NumberedFault] { placedFaults.loose }

    public func forEachTransaction(_ body: (HistoryItem) throws(JournalError) -> Void) throws(JournalError) {
        let attached = placedFaults.attached
        var complete = records[...], cut = cutOff[...]
        while let next = complete.first.map({ record in cut.first.map { $0.sequence < record.sequence } ?? false }) {
            if next, let c = cut.popFirst() {
                try body(.cutOff(c, faults: attached[c.sequence] ?? []))
            } else if let record = complete.popFirst() {
                try body(.complete(record, faults: attached[record.sequence] ?? []))
            }
        }
        for c in cut { try body(.cutOff(c, faults: attached[c.sequence] ?? [])) }
    }

    /// Faults by the transaction in flight, and those with none in this history.
    private var placedFaults: (attached: [UInt64: [NumberedFault]], loose: [NumberedFault]) {
        let sequences = Set(records.map(\.sequence) + cutOff.map(\.sequence))
        var attached: [UInt64: [NumberedFault]] = [:]
        var loose: [NumberedFault] = []
        for (index, fault) in faults.enumerated() {
            if let t = fault.transactionInFlight, sequences.contains(t) {
                attached[t, default: []].append((index + 1, fault))
            } else {
                loose.append((index + 1, fault))
            }
        }
        return (attached, loose)
    }
}

extension JournalReader: HistoryStream {
    /// Complete transactions read per query while streaming.
    static let streamWindow: UInt64 = 1024

    public func head() throws(JournalError) -> HistoryHead {
        let counts = try query("SELECT (SELECT count(*) FROM transactions) AS t, (SELECT count(*) FROM faults) AS f") {
            (Int($0.int64("t")), Int($0.int64("f")))
        }.first ?? (0, 0)
        return HistoryHead(header: try header(), backings: try backings(), regions: try regions(),
                           recorderStatistics: try recorderStatistics(), transactions: counts.0, faults: counts.1)
    }

    public func looseFaults() throws(JournalError) -> [NumberedFault] {
        try numberedFaults("""
            WHERE transaction_in_flight IS NULL
               OR transaction_in_flight NOT IN (SELECT sequence FROM transactions WHERE sequence >= 0 OR outcome IS NULL)
            """, [])
    }

    /// Complete transactions with `from ≤ sequence ≤ to`, in sequence order, read
    /// `streamWindow` at a time: what `records(from:to:)` returns, in memory that
    /// does not grow with the history.
    public func forEachRecord(from: UInt64 = 0, to: UInt64 = .max, _ body: (TransactionRecord) throws(JournalError) -> Void)
        throws(JournalError)
    {
        var cursor = RecordCursor(self, from: from, to: to)
        while let record = try cursor.next() { try body(record) }
    }

    /// Calls `body` with consecutive sequence ranges, each spanning the next
    /// `streamWindow` transactions of `from…to` as they are (sequences may be
    /// sparse or huge in a damaged journal: windows follow the rows, not the numbers).
    private func forEachWindow(from: UInt64, to: UInt64, _ body: (UInt64, UInt64) throws(JournalError) -> Void)
        throws(JournalError)
    {
        var low: UInt64? = from
        while let from = low, let window = try window(from: from, to: to) {
            try body(window.first, window.last)
            low = window.next
        }
    }

    /// The next `streamWindow` transactions of `from…to`: the sequences they span,
    /// and where the window after them starts (nil: this is the last).
    fileprivate func window(from: UInt64, to: UInt64) throws(JournalError) -> (first: UInt64, last: UInt64, next: UInt64?)? {
        let window = try query(
            "SELECT sequence FROM transactions WHERE sequence BETWEEN ? AND ? ORDER BY sequence LIMIT ?",
            [.u64(from), .integer(Int64(clamping: to)), .integer(Int64(Self.streamWindow))]) { $0.u64("sequence") }
        guard let first = window.first, let last = window.last else { return nil }
        let more = window.count == Int(Self.streamWindow) && last < to && last < UInt64(Int64.max)
        return (first, last, more ? last + 1 : nil)
    }

    /// How many complete transactions the journal holds.
    public func completeTransactionCount() throws(JournalError) -> Int {
        try query("SELECT count(*) AS n FROM transactions WHERE outcome IS NOT NULL") { Int($0.int64("n")) }.first ?? 0
    }

    /// Reads `streamWindow` complete transactions at a time (and the cut-off ones,
    /// which only a crash leaves, all at once), with the faults in flight in them.
    public func forEachTransaction(_ body: (HistoryItem) throws(JournalError) -> Void) throws(JournalError) {
        var cut = try cutOffTransactions()[...]
        try forEachWindow(from: 0, to: .max) { (from, to) throws(JournalError) in
            let faults = Dictionary(grouping: try numberedFaults("WHERE transaction_in_flight BETWEEN ? AND ?",
                                                                 [.u64(from), .u64(to)]),
                                    by: { $0.fault.transactionInFlight ?? 0 })
            for record in try records(from: from, to: to) {
                while let c = cut.first, c.sequence < record.sequence {
                    cut.removeFirst()
                    try body(.cutOff(c, faults: faults[c.sequence] ?? []))
                }
                try body(.complete(record, faults: faults[record.sequence] ?? []))
            }
            while let c = cut.first, c.sequence <= to {
                cut.removeFirst()
                try body(.cutOff(c, faults: faults[c.sequence] ?? []))
            }
        }
        // Cut-off rows no window reached (a sequence past 2^63 in a damaged journal): last, as they are.
        for c in cut {
            try body(.cutOff(c, faults: try numberedFaults("WHERE transaction_in_flight = ?", [.u64(c.sequence)])))
        }
    }

    /// Faults matching `condition` (a WHERE clause, or nothing), in arrival order, numbered by their row id.
    func numberedFaults(_ condition: String, _ arguments: [SQLValue]) throws(JournalError) -> [NumberedFault] {
        try query("SELECT id, \(Self.faultColumns) FROM faults \(condition) ORDER BY id", arguments) {
            (Int($0.int64("id")), Self.fault($0))
        }
    }

    /// The columns `fault(_:)` reads.
    static let faultColumns = "vcpu, gpa, is_write, time_ns, transaction_in_flight"

    /// A fault from a row of `faults` with `faultColumns`.
    static func fault(_ row: Statement.Row) -> SpuriousFault {
        SpuriousFault(vcpu: Int(row.int64("vcpu")), gpa: row.u64("gpa"), isWrite: row.bool("is_write"),
                      timeNs: row.u64("time_ns"), transactionInFlight: row.u64OrNil("transaction_in_flight"))
    }
}

/// Complete transactions of a journal in sequence order, pulled one at a time and
/// read `streamWindow` at a time: for a consumer that stops early, does its own
/// work between transactions (replay) or walks two histories side by side (diff),
/// where `forEachRecord`'s callback does not fit.
public struct RecordCursor {
    private let reader: JournalReader
    private var low: UInt64?
    private let high: UInt64
    private var window: [TransactionRecord] = []
    private var index = 0

    /// From the first complete transaction with `from ≤ sequence` to the last with `sequence ≤ to`.
    public init(_ reader: JournalReader, from: UInt64 = 0, to: UInt64 = .max) {
        self.reader = reader
        low = from
        high = to
    }

    /// The next complete transaction, nil after the last.
    public mutating func next() throws(JournalError) -> TransactionRecord? {
        while index == window.count {
            guard let from = low, let span = try reader.window(from: from, to: high) else { return nil }
            window = try reader.records(from: span.first, to: span.last)
            index = 0
            low = span.next
        }
        defer { index += 1 }
        return window[index]
    }
}

/// One walk over a history's complete transactions that is read as it goes (a
/// text file read line by line): each `next` the following transaction, nil
/// after the last.
public protocol RecordWalk: AnyObject {
    func next() throws(JournalError) -> TransactionRecord?
}

/// The complete transactions of a history in sequence order, walked as often
/// as a consumer needs: held in memory, read from a journal a window at a
/// time as they are walked (replay, diff), read afresh from a file by each
/// walk (`walks`: canonical JSONL, checked whole before), or made by each walk
/// (`generated`: a reduction's candidate, derived from its input as it goes).
public enum RecordSequence {
    case memory([TransactionRecord])
    case journal(JournalReader, count: Int)
    /// `count` transactions of the file at `path`; `open` starts a walk.
    case walks(count: Int, path: String, open: () throws(JournalError) -> any RecordWalk)
    /// Transactions made by each walk `open` starts: how many is known only by walking them.
    case generated(open: () throws(JournalError) -> any RecordWalk)

    /// A journal's complete transactions.
    public static func journal(_ reader: JournalReader) throws(JournalError) -> RecordSequence {
        .journal(reader, count: try reader.completeTransactionCount())
    }

    /// How many transactions a walk gives; nil for `generated`, known only once walked.
    public var count: Int? {
        switch self {
        case .memory(let records): records.count
        case .journal(_, let count), .walks(let count, _, _): count
        case .generated: nil
        }
    }

    /// The journal's path (nil in memory or generated), for errors.
    public var path: String? {
        switch self {
        case .memory, .generated: nil
        case .journal(let reader, _): reader.path
        case .walks(_, let path, _): path
        }
    }

    /// A walk over the transactions with `from ≤ sequence ≤ to` (the history's
    /// order is sequence order): a journal's are found by its index, the others'
    /// by walking past those before `from`.
    public func makeCursor(from: UInt64 = 0, to: UInt64 = .max) -> Cursor {
        switch self {
        case .memory(let records):
            var low = 0, high = records.count
            while low < high {
                let middle = (low + high) / 2
                if records[middle].sequence < from { low = middle + 1 } else { high = middle }
            }
            return Cursor(source: .memory(records, low), from: from, to: to)
        case .journal(let reader, _): return Cursor(source: .journal(RecordCursor(reader, from: from, to: to)), from: from, to: to)
        case .walks(_, _, let open), .generated(let open): return Cursor(source: .unopened(open), from: from, to: to)
        }
    }

    public struct Cursor {
        fileprivate enum Source {
            case memory([TransactionRecord], Int)
            case journal(RecordCursor)
            /// A walk not started yet (it starts on the first `next`, which may fail), and one under way.
            case unopened(() throws(JournalError) -> any RecordWalk)
            case walk(any RecordWalk)
        }
        fileprivate var source: Source
        fileprivate let from: UInt64
        fileprivate let to: UInt64

        /// The next transaction in the cursor's bounds, nil after the last.
        public mutating func next() throws(JournalError) -> TransactionRecord? {
            while let record = try nextFromSource() {
                if record.sequence < from { continue }
                return record.sequence <= to ? record : nil
            }
            return nil
        }

        private mutating func nextFromSource() throws(JournalError) -> TransactionRecord? {
            switch source {
            case .memory(let records, let index):
                guard index < records.count else { return nil }
                source = .memory(records, index + 1)
                return records[index]
            case .journal(var cursor):
                let record = try cursor.next()
                source = .journal(cursor)
                return record
            case .unopened(let open):
                let walk = try open()
                source = .walk(walk)
                return try walk.next()
            case .walk(let walk):
                return try walk.next()
            }
        }
    }

    /// Calls `body` with each transaction in order until it returns false.
    public func forEach(_ body: (TransactionRecord) throws -> Bool) throws {
        var cursor = makeCursor()
        while let record = try cursor.next() {
            guard try body(record) else { return }
        }
    }
}
