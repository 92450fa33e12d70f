import MemoryModel
import Memslots

/// The first place where a replay departed from the record.
public struct Divergence: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        /// The overlap decision (or its overlapping pair) differs.
        case decision
        /// A slot operation differs in kind, slot, range, host location or flags,
        /// or one is missing or extra.
        case operation
        /// A slot operation got a different errno.
        case errno
        /// The slot table after the transaction differs.
        case digest
        /// The transaction did not finish within the deadline.
        case timeout
        /// The history skips a transaction (or repeats one): it was edited.
        case sequence
    }

    public var sequence: UInt64
    public var addressSpace: UInt16
    /// Index of the slot operation concerned, if the divergence is about one.
    public var operation: Int?
    public var kind: Kind
    public var expected: String
    public var actual: String
    /// The replayed slot table near the operation (or the whole small table).
    public var slotsAround: [Memslot]
    /// When the divergence comes from a known difference between the recording
    /// backend and this one, what it is.
    public var explanation: String?

    public var description: String {
        var lines = ["divergence at transaction \(sequence) (address space \(addressSpace))"
            + (operation.map { ", slot operation \($0)" } ?? "") + ": \(kind.rawValue)"]
        lines.append("  expected: \(expected)")
        lines.append("  actual:   \(actual)")
        if let explanation { lines.append("  why: \(explanation)") }
        if !slotsAround.isEmpty {
            lines.append("  slot table around it:")
            lines += slotsAround.map { "    \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    /// A known difference between backends that explains a failed operation here.
    static func explain(_ op: SlotOperation, on capabilities: BackendCapabilities, backend: String) -> String? {
        if Int(op.slot.addressSpace) >= capabilities.addressSpaces {
            return "this \(backend) backend has \(capabilities.addressSpaces) address space(s); the journal uses "
                + "address space \(op.slot.addressSpace) (SMM needs KVM_CAP_MULTI_ADDRESS_SPACE > 1)"
        }
        if op.slot.index != UInt16.max, Int(op.slot.index) >= capabilities.maxSlots {
            return "this \(backend) backend has \(capabilities.maxSlots) slots; the journal uses slot index \(op.slot.index)"
        }
        if op.flags.contains(.readOnly) && !capabilities.readOnlyMemory {
            return "this \(backend) backend has no read-only memory (KVM_CAP_READONLY_MEM)"
        }
        return nil
    }

    /// Up to `radius` slots on each side of `address` in an ascending table.
    static func neighbourhood(of address: UInt64?, in slots: [Memslot], radius: Int = 2) -> [Memslot] {
        guard let address else { return Array(slots.prefix(2 * radius + 1)) }
        let index = slots.firstIndex { $0.range.last >= address } ?? slots.count
        return Array(slots[max(0, index - radius)..<min(slots.count, index + radius + 1)])
    }
}

extension Optional where Wrapped == OverlapDecision.Pair {
    var text: String {
        guard let pair = self else { return "no overlap" }
        return "delete #\(pair.deleteIndex) \(pair.deleted) overlaps add #\(pair.addIndex) \(pair.added)"
    }
}
