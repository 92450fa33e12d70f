import MemoryModel
import Memslots

/// The memory map and slot table as they stood after one transaction, rebuilt
/// from the journal by replaying sections and successful slot operations from
/// the first transaction on (no backend involved).
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
        let history = try records(from: 0, to: sequence)
        guard let target = history.last, target.sequence == sequence else { return nil }
        var views: [UInt16: [UInt64: MemorySection]] = [:]
        var slots: [UInt16: [SlotID: Memslot]] = [:]
        for record in history {
            var view = views[record.addressSpace, default: [:]]
            for change in record.sections where change.kind == .delete {
                if view[change.section.range.start]?.range == change.section.range {
                    view[change.section.range.start] = nil
                }
            }
            for change in record.sections where change.kind != .delete {
                view[change.section.range.start] = change.section
            }
            views[record.addressSpace] = view
            for op in record.slotOps where op.succeeded {
                let space = op.slot.addressSpace
                switch op.kind {
                case .create, .move, .flags:
                    slots[space, default: [:]][op.slot] = Memslot(id: op.slot, range: op.range, host: op.host, flags: op.flags)
                case .delete:
                    slots[space, default: [:]][op.slot] = nil
                case .dirtyLog:
                    break
                }
            }
        }
        let sortedSlots = slots.mapValues { $0.values.sorted { $0.range.start < $1.range.start } }
        return MemoryMapAtTransaction(
            sequence: sequence,
            views: views.mapValues { $0.values.sorted { $0.range.start < $1.range.start } },
            slots: sortedSlots,
            recordedDigest: target.digest,
            rebuiltDigest: SlotTableDigest(slots: sortedSlots[target.addressSpace] ?? []),
            addressSpace: target.addressSpace)
    }
}
