import MemoryModel
import Memslots
import JournalStore

/// The memory map and slot table as they stood after one transaction, rebuilt
/// from the journal through the history reducer (no backend involved).
public struct MemoryMapAtTransaction: Hashable, Sendable {
    public var sequence: UInt64
    /// Each address space's flat view, ascending by address.
    public var views: [UInt16: [MemorySection]]
    /// Each address space's slot table, ascending by address.
    public var slots: [UInt16: [Memslot]]
    /// The digest recorded after `sequence` (its address space), if complete.
    public var recordedDigest: SlotTableDigest?
    /// The digest of the rebuilt slot table of that address space.
    public var rebuiltDigest: SlotTableDigest
    public var addressSpace: UInt16

    /// Whether the rebuilt slot table matches what the listener recorded.
    public var digestMatches: Bool { recordedDigest == rebuiltDigest }
}

extension JournalReader {
    /// The memory map and slot tables after transaction `sequence`; nil if the
    /// journal has no complete transaction with that sequence.
    public func memoryMap(at sequence: UInt64) throws(JournalError) -> MemoryMapAtTransaction? {
        var history = HistoryReducer()
        var last: TransactionRecord?
        try forEachRecord(to: sequence) { record throws(JournalError) in
            history.apply(record)
            last = record
        }
        guard let target = last, target.sequence == sequence else { return nil }
        let spaces = history.addressSpaces
        return MemoryMapAtTransaction(
            sequence: sequence,
            views: Dictionary(uniqueKeysWithValues: spaces.map { ($0, history.view($0)) }),
            slots: Dictionary(uniqueKeysWithValues: spaces.map { ($0, history.slots.slots(addressSpace: $0)) }),
            recordedDigest: target.digest,
            rebuiltDigest: history.digest(addressSpace: target.addressSpace),
            addressSpace: target.addressSpace)
    }
}
