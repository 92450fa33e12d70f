import Harness
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Replay

/// One transaction of a candidate history: what it asks for, and which
/// transactions of the input it came from.
public struct CandidateTransaction: Hashable, Sendable {
    /// A listener callback (histories recorded by a memory listener) or a
    /// memory-region call (histories of ioctls seen from outside).
    public enum Part: Hashable, Sendable {
        case section(SectionChange)
        case call(MemoryRegionCall)
    }

    /// Sequence numbers in the input (more than one after a merge).
    public var origins: [UInt64]
    public var addressSpace: UInt16
    public var parts: [Part]
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

    /// How `contents` was made: ioctls for a history seen from outside a VMM (a QEMU
    /// trace, an strace log, a capture), else listener callbacks.
    public static func natural(for contents: JournalContents) -> Derivation {
        OutsideChannel(contents.header) != nil ? .ioctls : .listener
    }
}

/// The transactions of a history as a candidate, and candidates back into histories.
public struct CandidateHistory: Sendable {
    public let input: JournalContents
    public let derivation: Derivation
    /// The input's transactions as candidate transactions, in order.
    public let transactions: [CandidateTransaction]
    /// Where a recorded transaction differs from what its derivation gives in
    /// the whole input (an edit, or what another backend did), by sequence: kept
    /// in every candidate so that a reduced history still shows it.
    private(set) var departures: [UInt64: RecordDeparture]

    /// The complete transactions of `input` as candidate transactions.
    public init(_ input: JournalContents, derivation: Derivation) {
        self.input = input
        self.derivation = derivation
        transactions = input.records.map { record in
            let parts: [CandidateTransaction.Part]
            switch derivation {
            case .listener: parts = record.sections.map { .section($0) }
            case .ioctls:
                parts = record.slotOps.map { op in
                    let name = record.sections.first { $0.section.range == op.range }?.section.regionName
                    return .call(MemoryRegionCall(op, name: name ?? "slot \(op.slot)"))
                }
            }
            return CandidateTransaction(origins: [record.sequence], addressSpace: record.addressSpace, parts: parts)
        }
        departures = [:]
        guard derivation == .listener else { return }
        // What the listener makes of the whole input, against what was recorded.
        let derived = Dictionary(derive(transactions).map { ($0.origin, $0.record) }) { first, _ in first }
        var departures: [UInt64: RecordDeparture] = [:]
        for record in input.records {
            guard let mine = derived[record.sequence] else { continue }
            if let departure = RecordDeparture(recorded: record, derived: mine) { departures[record.sequence] = departure }
        }
        self.departures = departures
    }

    /// Whether the transaction from input `sequence` carries a recorded departure.
    public func hasDeparture(_ sequence: UInt64) -> Bool { departures[sequence] != nil }

    /// Sequence numbers of the input transactions that carry a recorded departure.
    public var departingTransactions: [UInt64] { departures.keys.sorted() }

    /// The history `candidate` stands for: the input's header and backings, the
    /// re-derived transactions numbered from 1, no faults, no times, no recorder
    /// statistics (as a journal holds them when none were written).
    public func contents(_ candidate: [CandidateTransaction]) -> JournalContents {
        var header = input.header
        header.cleanClose = true
        var records: [TransactionRecord] = []
        for (origin, record) in derive(candidate) {
            var record = record
            if let departure = departures[origin] { departure.apply(to: &record) }
            record.sequence = UInt64(records.count + 1)
            records.append(record)
        }
        return JournalContents(
            header: header, backings: input.backings, regions: [:], records: records, cutOff: [], faults: [],
            recorderStatistics: .unrecorded)
    }

    /// Each candidate transaction that still does something, re-derived, with the
    /// first input transaction it came from.
    private func derive(_ candidate: [CandidateTransaction]) -> [(origin: UInt64, record: TransactionRecord)] {
        switch derivation {
        case .listener: deriveThroughListener(candidate)
        case .ioctls: deriveFromCalls(candidate)
        }
    }

    private func deriveThroughListener(_ candidate: [CandidateTransaction])
        -> [(origin: UInt64, record: TransactionRecord)]
    {
        let backend = SimulatedBackend()
        for backing in input.backings { _ = backend.createBacking(backing) }
        let machine = Machine(
            backend: backend,
            configuration: Machine.Configuration(
                vcpus: 1, wait: input.header.wait, inhibit: input.header.inhibit,
                maxSlotSize: input.header.maxSlotSize))
        let feed = ListenerFeed(machine: machine, maxSlotSize: input.header.maxSlotSize, inhibit: input.header.inhibit)
        var views = HistoryReducer()
        var result: [(UInt64, TransactionRecord)] = []
        for transaction in candidate {
            let space = transaction.addressSpace
            let old = views.view(space)
            views.applySections(transaction.parts.compactMap(\.section), addressSpace: space)
            let changes = ViewDiff.changes(old: old, new: views.view(space)).map(SectionChange.init)
            guard !changes.isEmpty, let record = feed.feed(changes, addressSpace: space) else { continue }
            result.append((transaction.origins[0], record.withoutTimes))
        }
        return result
    }

    private func deriveFromCalls(_ candidate: [CandidateTransaction]) -> [(origin: UInt64, record: TransactionRecord)] {
        var history = IoctlHistory()
        var result: [(UInt64, TransactionRecord)] = []
        for transaction in candidate {
            let calls = transaction.parts.compactMap(\.call)
            guard !calls.isEmpty else { continue }
            let record = history.transaction(calls, sequence: UInt64(result.count + 1), keepingConsistent: true)
            guard !record.slotOps.isEmpty else { continue }
            result.append((transaction.origins[0], record))
        }
        return result
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
