import Harness
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Replay

/// One transaction of a candidate history: which transactions of the input it
/// came from, and which of their parts it keeps — a few words, never the parts
/// themselves, which are read from the input whenever the candidate is walked.
public struct CandidateTransaction: Hashable, Sendable {
    /// A listener callback (histories recorded by a memory listener) or a
    /// memory-region call (histories of ioctls seen from outside).
    public enum Part: Hashable, Sendable {
        case section(SectionChange)
        case call(MemoryRegionCall)
    }

    /// The first input transaction it came from, by sequence number.
    public let origin: UInt64
    public let addressSpace: UInt16
    /// How many parts its input transactions have, all together (a transaction
    /// has at most a few thousand: 32 bits keep the entry at 24 bytes).
    private let parts: UInt32
    /// What a merge or a smaller set of parts changed; nil for an input
    /// transaction as it is (most of a reduction's candidates).
    private var edit: Edit?

    /// The input transactions merged into it after the first, and the parts it
    /// keeps when not all: held apart, so that an unchanged transaction costs
    /// no allocation.
    private final class Edit: Hashable, Sendable {
        let merged: [UInt64]
        let kept: [Int]?

        init(merged: [UInt64], kept: [Int]?) {
            self.merged = merged
            self.kept = kept
        }

        static func == (a: Edit, b: Edit) -> Bool { a.merged == b.merged && a.kept == b.kept }

        func hash(into hasher: inout Hasher) {
            hasher.combine(merged)
            hasher.combine(kept)
        }
    }

    /// An input transaction as it is.
    init(origin: UInt64, addressSpace: UInt16, partCount: Int) {
        self.origin = origin
        self.addressSpace = addressSpace
        parts = UInt32(clamping: partCount)
    }

    /// The input transactions merged into it after the first (empty unless merged).
    public var merged: [UInt64] { edit?.merged ?? [] }
    /// Sequence numbers in the input, in order (more than one after a merge).
    public var origins: [UInt64] { [origin] + merged }
    /// How many parts its input transactions have, all together.
    public var partCount: Int { Int(parts) }
    /// The parts it keeps, by position among those, rising; nil: every one.
    public var kept: [Int]? { edit?.kept }
    /// The positions of the parts it keeps.
    public var keptParts: [Int] { kept ?? Array(0..<partCount) }
    public var keptCount: Int { kept?.count ?? partCount }

    /// Keeps only the parts at `positions` (rising, a subset of `keptParts`).
    public mutating func keep(_ positions: [Int]) {
        let kept = positions.count == partCount ? nil : positions
        edit = merged.isEmpty && kept == nil ? nil : Edit(merged: merged, kept: kept)
    }

    /// This transaction and `next` as one: both origins' parts, this one's first.
    func merged(with next: CandidateTransaction) -> CandidateTransaction {
        var result = CandidateTransaction(
            origin: origin, addressSpace: addressSpace, partCount: partCount + next.partCount)
        let kept = kept == nil && next.kept == nil ? nil : keptParts + next.keptParts.map { $0 + partCount }
        result.edit = Edit(merged: merged + next.origins, kept: kept)
        return result
    }
}

/// How a candidate's transactions get their slot operations.
///
/// A candidate is never made by editing recorded numbers: each of its
/// transactions is re-derived, so every candidate is a history a VMM could have
/// produced.
public enum Derivation: String, Sendable, CaseIterable {
    /// From the listener callbacks: each transaction's callbacks are first applied
    /// to the address space's view (a delete of a section that is not there is
    /// dropped, an add replaces what it covers), the callbacks a listener would get
    /// between the two views are derived (QEMU's topology passes), and a fresh
    /// memslot listener on the simulated backend turns them into a decision, slot
    /// operations and a digest.
    case listener
    /// From the ioctls (imported traces): a call that KVM would refuse on the slots
    /// left by the calls kept before it (a delete of a slot that is gone, a range
    /// that overlaps another slot) is dropped, and the sections follow the calls
    /// (`IoctlHistory`).
    case ioctls

    /// How a history with `header` was made: ioctls for one seen from outside a
    /// VMM (a QEMU trace, an strace log, a capture), else listener callbacks.
    public static func natural(for header: JournalHeader) -> Derivation {
        OutsideChannel(header) != nil ? .ioctls : .listener
    }

    /// What a transaction offers a candidate to keep or drop.
    func parts(of record: TransactionRecord) -> [CandidateTransaction.Part] {
        switch self {
        case .listener: return record.sections.map { .section($0) }
        case .ioctls:
            return record.slotOps.map { op in
                let name = record.sections.first { $0.section.range == op.range }?.section.regionName
                return .call(MemoryRegionCall(op, name: name ?? "slot \(op.slot)"))
            }
        }
    }

    func partCount(of record: TransactionRecord) -> Int {
        switch self {
        case .listener: record.sections.count
        case .ioctls: record.slotOps.count
        }
    }
}

/// The transactions of a history as candidates, and candidates back into
/// histories. The input is read through its cursor, never held: a candidate is
/// derived one transaction at a time each time it is walked, so a reduction
/// holds its candidates (a few words per transaction), the slots and one
/// transaction — however long the input.
public struct CandidateHistory {
    public let input: WalkedHistory
    public let derivation: Derivation
    /// The input's transactions as candidate transactions, in order.
    public let transactions: [CandidateTransaction]
    /// Where a recorded transaction differs from what its derivation gives in
    /// the whole input (an edit, or what another backend did), by sequence: kept
    /// in every candidate so that a reduced history still shows it.
    private(set) var departures: [UInt64: RecordDeparture]

    /// The complete transactions of `input` as candidate transactions; with the
    /// listener derivation, the whole input is derived once to find departures.
    public init(_ input: WalkedHistory, derivation: Derivation) throws(JournalError) {
        self.input = input
        self.derivation = derivation
        var transactions: [CandidateTransaction] = []
        var cursor = input.records.makeCursor()
        while let record = try cursor.next() {
            transactions.append(CandidateTransaction(
                origin: record.sequence, addressSpace: record.addressSpace, partCount: derivation.partCount(of: record)))
        }
        self.transactions = transactions
        departures = [:]
        guard derivation == .listener else { return }
        // What the listener makes of the whole input, against what was recorded.
        let walk = CandidateWalk(self, transactions)
        var departures: [UInt64: RecordDeparture] = [:]
        while let (derived, recorded) = try walk.nextDerived() {
            if departures[recorded.sequence] == nil, let departure = RecordDeparture(recorded: recorded, derived: derived) {
                departures[recorded.sequence] = departure
            }
        }
        self.departures = departures
    }

    /// Whether the transaction from input `sequence` carries a recorded departure.
    public func hasDeparture(_ sequence: UInt64) -> Bool { departures[sequence] != nil }

    /// Sequence numbers of the input transactions that carry a recorded departure.
    public var departingTransactions: [UInt64] { departures.keys.sorted() }

    /// The history `candidate` stands for, derived afresh by each walk: the
    /// input's header and backings, the re-derived transactions numbered from 1,
    /// no faults, no times, no recorder statistics (as a journal holds them when
    /// none were written).
    public func history(_ candidate: [CandidateTransaction]) -> WalkedHistory {
        var header = input.header
        header.cleanClose = true
        return WalkedHistory(header: header, backings: input.backings,
                             records: .generated { CandidateWalk(self, candidate) })
    }

    /// The parts `transaction` keeps, read from the input.
    public func parts(of transaction: CandidateTransaction) throws(JournalError) -> [CandidateTransaction.Part] {
        try parts(of: transaction) { (origin: UInt64) throws(JournalError) in
            var cursor = input.records.makeCursor(from: origin, to: origin)
            guard let record = try cursor.next() else { throw missing(origin) }
            return record
        }.parts
    }

    /// The parts `transaction` keeps, its origins read by `record`; with the first origin's record.
    func parts(of transaction: CandidateTransaction, record: (UInt64) throws(JournalError) -> TransactionRecord)
        throws(JournalError) -> (parts: [CandidateTransaction.Part], first: TransactionRecord)
    {
        var all: [CandidateTransaction.Part] = []
        var first: TransactionRecord?
        for origin in transaction.origins {
            let read = try record(origin)
            first = first ?? read
            all += derivation.parts(of: read)
        }
        // origins is never empty: it starts with `origin`.
        guard let first else { preconditionFailure("a candidate transaction without an origin") }
        return (transaction.kept.map { $0.map { all[$0] } } ?? all, first)
    }

    /// The error for an origin the input no longer has (a file changed while it was reduced).
    func missing(_ sequence: UInt64) -> JournalError {
        .badData(path: input.records.path ?? "the input",
                 detail: "transaction \(sequence) is no longer there; was the file changed while it was reduced?")
    }
}

/// One walk of a candidate: its transactions derived one at a time, in order,
/// from the input transactions read as the candidate's origins come (they rise
/// through the input, so one cursor moving forward reads them, started again
/// where the next origin is far ahead). Holds the derivation's state — the
/// views and a listener's slots, or the slots the calls left — and one
/// transaction.
final class CandidateWalk: RecordWalk {
    private let history: CandidateHistory
    private let candidate: [CandidateTransaction]
    private var index = 0
    /// Transactions derived so far (the last one's sequence number).
    private var derivedCount: UInt64 = 0
    private var cursor: RecordSequence.Cursor?
    /// The last sequence the cursor can give (it was started to read no further).
    private var cursorEnd: UInt64 = 0
    private let feed: ListenerFeed?
    private var views = HistoryReducer()
    private var calls = IoctlHistory()

    /// How far past an origin a cursor started there reads (a journal's window).
    private static let span: UInt64 = 1023

    init(_ history: CandidateHistory, _ candidate: [CandidateTransaction]) {
        self.history = history
        self.candidate = candidate
        switch history.derivation {
        case .listener:
            let header = history.input.header
            let backend = SimulatedBackend()
            for backing in history.input.backings { _ = backend.createBacking(backing) }
            let machine = Machine(
                backend: backend,
                configuration: Machine.Configuration(
                    vcpus: 1, wait: header.wait, inhibit: header.inhibit, maxSlotSize: header.maxSlotSize))
            feed = ListenerFeed(machine: machine, maxSlotSize: header.maxSlotSize, inhibit: header.inhibit)
        case .ioctls:
            feed = nil
        }
    }

    /// The next re-derived transaction, numbered, with the input's departure at its origin carried over.
    func next() throws(JournalError) -> TransactionRecord? {
        guard let (derived, recorded) = try nextDerived() else { return nil }
        var record = derived
        if let departure = history.departures[recorded.sequence] { departure.apply(to: &record) }
        record.sequence = derivedCount
        return record
    }

    /// The next candidate transaction that still does something, as derived,
    /// with the input transaction it first came from.
    func nextDerived() throws(JournalError) -> (derived: TransactionRecord, recorded: TransactionRecord)? {
        while index < candidate.count {
            let transaction = candidate[index]
            index += 1
            let (parts, first) = try history.parts(of: transaction) { (origin: UInt64) throws(JournalError) in
                try inputRecord(origin)
            }
            guard let record = derive(parts, addressSpace: transaction.addressSpace) else { continue }
            derivedCount += 1
            return (record, first)
        }
        return nil
    }

    /// What the derivation makes of one candidate transaction's parts; nil when it does nothing.
    private func derive(_ parts: [CandidateTransaction.Part], addressSpace space: UInt16) -> TransactionRecord? {
        if let feed {
            let old = views.view(space)
            views.applySections(parts.compactMap(\.section), addressSpace: space)
            let changes = ViewDiff.changes(old: old, new: views.view(space)).map(SectionChange.init)
            guard !changes.isEmpty, let record = feed.feed(changes, addressSpace: space) else { return nil }
            return record.withoutTimes
        }
        let made = parts.compactMap(\.call)
        guard !made.isEmpty else { return nil }
        let record = calls.transaction(made, sequence: derivedCount + 1, keepingConsistent: true)
        return record.slotOps.isEmpty ? nil : record
    }

    /// The input transaction `sequence`: read on by the cursor, or by one started
    /// there when it lies beyond what the cursor reads.
    private func inputRecord(_ sequence: UInt64) throws(JournalError) -> TransactionRecord {
        if cursor == nil || sequence > cursorEnd {
            let last = candidate.last?.origins.last ?? sequence
            cursorEnd = sequence > UInt64.max - Self.span ? .max : min(sequence + Self.span, max(last, sequence))
            cursor = history.input.records.makeCursor(from: sequence, to: cursorEnd)
        }
        while let record = try cursor?.next() {
            if record.sequence == sequence { return record }
            if record.sequence > sequence { break }
        }
        throw history.missing(sequence)
    }
}

extension CandidateTransaction.Part {
    var section: SectionChange? { if case .section(let s) = self { s } else { nil } }
    var call: MemoryRegionCall? { if case .call(let c) = self { c } else { nil } }
}

extension TransactionRecord {
    /// The record with every measured time zeroed: a reduced history's times were
    /// measured on another history, so it carries none (and is the same bytes on
    /// every run).
    var withoutTimes: TransactionRecord {
        var record = self
        record.beginNs = 0
        record.commitNs = 0
        record.timing = InhibitTiming(inhibited: timing.inhibited, drainNs: 0, applyNs: 0, inhibitNs: 0, vcpusKicked: 0)
        for index in record.slotOps.indices { record.slotOps[index].durationNs = 0 }
        return record
    }
}
