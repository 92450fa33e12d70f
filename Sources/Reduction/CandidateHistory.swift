import Harness
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Replay

/// One transaction of a candidate history: which transactions of the input it
/// came from, by position, and which of their parts it keeps — a word, or a
/// side object where it was edited; never the parts themselves, which are read
/// from the input whenever the candidate is walked.
public struct CandidateTransaction: Hashable, Sendable {
    /// A listener callback (histories recorded by a memory listener) or a
    /// memory-region call (histories of ioctls seen from outside).
    public enum Part: Hashable, Sendable {
        case section(SectionChange)
        case call(MemoryRegionCall)
    }

    /// The first input transaction it came from, by position in the input.
    public let position: Int
    /// What a merge or a smaller set of parts changed; nil for an input
    /// transaction as it is (most of a reduction's candidates).
    private let edit: Edit?

    /// The input transactions merged into it after the first, and the parts it
    /// keeps when not all: held apart, so that an unchanged transaction costs
    /// no allocation.
    private final class Edit: Hashable, Sendable {
        let merged: [Int]
        let kept: [Int]?

        init(merged: [Int], kept: [Int]?) {
            self.merged = merged
            self.kept = kept
        }

        static func == (a: Edit, b: Edit) -> Bool { a.merged == b.merged && a.kept == b.kept }

        func hash(into hasher: inout Hasher) {
            hasher.combine(merged)
            hasher.combine(kept)
        }
    }

    /// The input transaction at `position`, as it is.
    init(position: Int) {
        self.position = position
        edit = nil
    }

    private init(position: Int, merged: [Int], kept: [Int]?) {
        self.position = position
        edit = merged.isEmpty && kept == nil ? nil : Edit(merged: merged, kept: kept)
    }

    /// Whether it differs from the input transaction at `position`.
    public var isEdited: Bool { edit != nil }
    /// The input transactions merged into it after the first (empty unless merged).
    public var merged: [Int] { edit?.merged ?? [] }
    /// Positions in the input, rising (more than one after a merge).
    public var origins: [Int] { [position] + merged }
    /// The parts it keeps, by position among all its input transactions' parts,
    /// rising; nil: every one.
    public var kept: [Int]? { edit?.kept }

    /// The same transaction keeping only the parts at `positions` (rising, a
    /// subset of those it keeps) of the `total` its input transactions have.
    func keeping(_ positions: [Int], of total: Int) -> CandidateTransaction {
        CandidateTransaction(position: position, merged: merged, kept: positions.count == total ? nil : positions)
    }

    /// This transaction and `next` as one: both origins' parts, this one's
    /// first; `totals` are how many parts each one's input transactions have.
    func merged(with next: CandidateTransaction, totals: (Int, Int)) -> CandidateTransaction {
        let kept = kept == nil && next.kept == nil ? nil
            : (kept ?? Array(0..<totals.0)) + (next.kept ?? Array(0..<totals.1)).map { $0 + totals.0 }
        return CandidateTransaction(position: position, merged: merged + next.origins, kept: kept)
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
}

/// The transactions of a history as candidates, and candidates back into
/// histories. The input is read through its cursor, never held: a candidate is
/// derived one transaction at a time each time it is walked, so a reduction
/// holds its candidates (a few words per run of untouched transactions and per
/// edited one), the slots and one transaction — however long the input.
public struct CandidateHistory {
    public let input: WalkedHistory
    public let derivation: Derivation
    /// How many transactions the input has.
    public let count: Int
    /// Where the input's sequence numbers start again after a gap: from each
    /// start's position on they rise by one from its sequence (the first at 0).
    private let starts: [SequenceStart]
    /// Where a recorded transaction differs from what its derivation gives in
    /// the whole input (an edit, or what another backend did), by position:
    /// kept in every candidate so that a reduced history still shows it.
    private(set) var departures: [Int: RecordDeparture]

    private struct SequenceStart {
        let position: Int
        let sequence: UInt64
    }

    /// The transactions of `input` as candidates; with the listener derivation,
    /// the whole input is derived once to find departures.
    public init(_ input: WalkedHistory, derivation: Derivation) throws(JournalError) {
        self.input = input
        self.derivation = derivation
        var count = 0
        var starts: [SequenceStart] = []
        var cursor = input.records.makeCursor()
        while let record = try cursor.next() {
            if starts.last.map({ $0.sequence &+ UInt64(count - $0.position) }) != record.sequence {
                starts.append(SequenceStart(position: count, sequence: record.sequence))
            }
            count += 1
        }
        self.count = count
        self.starts = starts
        departures = [:]
        guard derivation == .listener else { return }
        // What the listener makes of the whole input, against what was recorded.
        let walk = CandidateWalk(self, transactions)
        var departures: [Int: RecordDeparture] = [:]
        while let (derived, recorded, position) = try walk.nextDerived() {
            if departures[position] == nil, let departure = RecordDeparture(recorded: recorded, derived: derived) {
                departures[position] = departure
            }
        }
        self.departures = departures
    }

    /// Every transaction of the input, as it is.
    public var transactions: CandidateList { CandidateList(positions: 0..<count) }

    /// The input's sequence number of the transaction at `position`.
    public func sequence(at position: Int) -> UInt64 {
        var low = 0, high = starts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle].position <= position { low = middle } else { high = middle - 1 }
        }
        return starts[low].sequence + UInt64(position - starts[low].position)
    }

    /// Whether the transaction at input `position` carries a recorded departure.
    public func hasDeparture(_ position: Int) -> Bool { departures[position] != nil }

    /// Sequence numbers of the input transactions that carry a recorded departure.
    public var departingTransactions: [UInt64] { departures.keys.sorted().map(sequence(at:)) }

    /// The history `candidate` stands for, derived afresh by each walk: the
    /// input's header and backings, the re-derived transactions numbered from 1,
    /// no faults, no times, no recorder statistics (as a journal holds them when
    /// none were written).
    public func history(_ candidate: CandidateList) -> WalkedHistory {
        var header = input.header
        header.cleanClose = true
        return WalkedHistory(header: header, backings: input.backings,
                             records: .generated { CandidateWalk(self, candidate) })
    }

    /// What `transaction` is made of, read from the input: the parts it keeps,
    /// its first origin's record, and how many parts its origins have in all.
    public func read(_ transaction: CandidateTransaction) throws(JournalError) -> CandidateRead {
        var reader = InputReader(self, last: transaction.origins.last)
        return try read(transaction, with: &reader)
    }

    /// How many parts the transactions of `list` keep, all together.
    func keptParts(in list: CandidateList) throws(JournalError) -> Int {
        var reader = InputReader(self, last: list.last?.origins.last)
        var total = 0
        for transaction in list { total += try read(transaction, with: &reader).parts.count }
        return total
    }

    /// `read(_:)`, its origins read by `reader`.
    func read(_ transaction: CandidateTransaction, with reader: inout InputReader) throws(JournalError) -> CandidateRead {
        var all: [CandidateTransaction.Part] = []
        var first: TransactionRecord?
        for origin in transaction.origins {
            let record = try reader.record(at: origin)
            first = first ?? record
            all += derivation.parts(of: record)
        }
        // origins is never empty: it starts with `position`.
        guard let first else { preconditionFailure("a candidate transaction without an origin") }
        return CandidateRead(parts: transaction.kept.map { $0.map { all[$0] } } ?? all, first: first, total: all.count)
    }
}

/// A candidate transaction as read from the input.
public struct CandidateRead {
    /// The parts it keeps, in order.
    public let parts: [CandidateTransaction.Part]
    /// The input transaction it first came from.
    public let first: TransactionRecord
    /// How many parts its input transactions have, all together.
    public let total: Int
}

/// The input read forward through one cursor by a walk whose origins rise,
/// started again where the next origin lies beyond what it reads.
struct InputReader {
    private let history: CandidateHistory
    /// The walk's last origin's sequence: no cursor reads past it.
    private let last: UInt64?
    private var cursor: RecordSequence.Cursor?
    /// The last sequence the cursor can give (it was started to read no further).
    private var cursorEnd: UInt64 = 0

    /// How far past an origin a cursor started there reads (a journal's window).
    private static let span: UInt64 = 1023

    /// A reader for a walk whose last origin is at position `last`.
    init(_ history: CandidateHistory, last: Int?) {
        self.history = history
        self.last = last.map(history.sequence(at:))
    }

    /// The input transaction at `position`.
    mutating func record(at position: Int) throws(JournalError) -> TransactionRecord {
        let sequence = history.sequence(at: position)
        if cursor == nil || sequence > cursorEnd {
            let last = last ?? sequence
            cursorEnd = sequence > UInt64.max - Self.span ? .max : min(sequence + Self.span, max(last, sequence))
            cursor = history.input.records.makeCursor(from: sequence, to: cursorEnd)
        }
        while let record = try cursor?.next() {
            if record.sequence == sequence { return record }
            if record.sequence > sequence { break }
        }
        throw .badData(path: history.input.records.path ?? "the input",
                       detail: "transaction \(sequence) is no longer there; was the file changed while it was reduced?")
    }
}

/// One walk of a candidate: its transactions derived one at a time, in order,
/// from the input transactions read as the candidate's origins come. Holds the
/// derivation's state — the views and a listener's slots, or the slots the
/// calls left — and one transaction.
final class CandidateWalk: RecordWalk {
    private let history: CandidateHistory
    private var transactions: CandidateList.Iterator
    private var reader: InputReader
    /// Transactions derived so far (the last one's sequence number).
    private var derivedCount: UInt64 = 0
    private let feed: ListenerFeed?
    private var views = HistoryReducer()
    private var calls = IoctlHistory()

    init(_ history: CandidateHistory, _ candidate: CandidateList) {
        self.history = history
        transactions = candidate.makeIterator()
        reader = InputReader(history, last: candidate.last?.origins.last)
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
        guard let (derived, _, position) = try nextDerived() else { return nil }
        var record = derived
        if let departure = history.departures[position] { departure.apply(to: &record) }
        record.sequence = derivedCount
        return record
    }

    /// The next candidate transaction that still does something, as derived,
    /// with the input transaction it first came from and that one's position.
    func nextDerived() throws(JournalError) -> (derived: TransactionRecord, recorded: TransactionRecord, position: Int)? {
        while let transaction = transactions.next() {
            let read = try history.read(transaction, with: &reader)
            guard let record = derive(read.parts, addressSpace: read.first.addressSpace) else { continue }
            derivedCount += 1
            return (record, read.first, transaction.position)
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
