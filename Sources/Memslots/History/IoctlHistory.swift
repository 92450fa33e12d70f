import MemoryModel

/// One `KVM_SET_USER_MEMORY_REGION` call as a VMM made it, seen from outside
/// (a QEMU trace line, a reduced imported history).
public struct MemoryRegionCall: Hashable, Sendable {
    public enum Request: Hashable, Sendable {
        /// Size 0: delete the slot (the call names only its start).
        case delete(gpa: UInt64)
        /// Create, move or re-flag the slot to cover `range`.
        case set(GuestRange)

        /// The request of a call naming `gpa` and `size`; nil for a range past 2^64.
        public init?(gpa: UInt64, size: UInt64) {
            if size == 0 {
                self = .delete(gpa: gpa)
            } else if let range = try? GuestRange(start: gpa, size: size) {
                self = .set(range)
            } else {
                return nil
            }
        }
    }

    public var slot: SlotID
    public var flags: SlotFlags
    public var request: Request
    public var host: BackingLocation
    /// 0, or the errno the call failed with.
    public var errno: Int32
    /// When the call returned, if the source says.
    public var timeNs: UInt64?
    /// How long the call itself took, if the source measured it (a capture does;
    /// a trace stamps only one instant per call).
    public var durationNs: UInt64?
    /// The name given to the sections derived from this call (where it came from).
    public var name: String

    public init(slot: SlotID, flags: SlotFlags, request: Request, host: BackingLocation, errno: Int32, timeNs: UInt64?,
                durationNs: UInt64? = nil, name: String) {
        self.slot = slot
        self.flags = flags
        self.request = request
        self.host = host
        self.errno = errno
        self.timeNs = timeNs
        self.durationNs = durationNs
        self.name = name
    }
}

/// Turns a history of memory-region ioctls — a VMM seen from outside, with no
/// listener callbacks — into transactions, following the slot table across them.
///
/// Each call becomes a slot operation whose kind is what KVM made of it (create,
/// move, flags, delete); the sections are derived from the operations (a delete of
/// the slot's range, an add of the new one; a flags change is neither), and the
/// overlap decision is taken over them as a listener would. The one place that
/// knows this: the QEMU-trace import and the reduction of imported histories.
public struct IoctlHistory: Sendable {
    /// Every address space's flat view and slots after the transactions so far.
    public private(set) var history = HistoryReducer()

    public init() {}

    /// The transaction made of `calls` (in order, one address space), numbered
    /// `sequence`. With `keepingConsistent`, a successful call that KVM would
    /// refuse on the slots so far (`isConsistent`) is left out.
    public mutating func transaction(_ calls: [MemoryRegionCall], sequence: UInt64, keepingConsistent: Bool = false)
        -> TransactionRecord
    {
        var sections: [SectionChange] = []
        var ops: [SlotOperation] = []
        for (index, call) in calls.enumerated() {
            if keepingConsistent, call.errno == 0, !isConsistent(call) { continue }
            // The call's own time when it was measured; else the time since the previous
            // call of the transaction (a trace stamps each ioctl as it returns, so this
            // is the call plus the VMM's work between calls).
            let duration: UInt64 = call.durationNs ?? (index > 0 ? (call.timeNs ?? 0) &- (calls[index - 1].timeNs ?? 0) : 0)
            switch call.request {
            case .delete(let gpa):
                // A delete names no size: it is the slot's own range.
                let old = history.slots.slot(call.slot)
                // A slot never created in the history: its range is unknown; record the address.
                let range = try! old?.range ?? GuestRange(start: gpa, size: 1)  // size 1 cannot overflow
                let host = old?.host ?? call.host
                let op = SlotOperation(kind: .delete, slot: call.slot, range: range, host: host,
                                       flags: old?.flags ?? call.flags, errno: call.errno, durationNs: duration)
                ops.append(op)
                history.apply(op)
                if let old {
                    sections.append(SectionChange(.delete, Self.section(range, host: host, flags: old.flags,
                                                                        name: call.name)))
                }
            case .set(let range):
                let kind: SlotOperation.Kind
                if let old = history.slots.slot(call.slot) {
                    kind = old.range.start != range.start ? .move : .flags
                } else {
                    kind = .create
                }
                let op = SlotOperation(kind: kind, slot: call.slot, range: range, host: call.host, flags: call.flags,
                                       errno: call.errno, durationNs: duration)
                ops.append(op)
                history.apply(op)
                if kind != .flags {
                    sections.append(SectionChange(.add, Self.section(range, host: call.host, flags: call.flags,
                                                                     name: call.name)))
                }
            }
        }
        let deletes = sections.filter { $0.kind == .delete }.map(\.section.range)
        let adds = sections.filter { $0.kind == .add }.map(\.section.range)
        // From the start of the first call, where the source measured it.
        let begin = (calls.first?.timeNs ?? 0) &- (calls.first?.durationNs ?? 0)
        let end = calls.last?.timeNs ?? 0
        let addressSpace = calls.first?.slot.addressSpace ?? 0
        history.applySections(sections, addressSpace: addressSpace)
        return TransactionRecord(
            sequence: sequence, addressSpace: addressSpace, beginNs: begin, commitNs: end, sections: sections,
            decision: OverlapDecision.decide(deletes: deletes, adds: adds), slotOps: ops,
            timing: .notInhibited(applyNs: end &- begin),
            digest: history.digest(addressSpace: addressSpace))
    }

    /// Whether KVM would accept `call` on the slots so far (ignoring the errno it
    /// was recorded with): a delete of an existing slot, or a range that no other
    /// slot of its address space overlaps.
    public func isConsistent(_ call: MemoryRegionCall) -> Bool {
        switch call.request {
        case .delete: return history.slots.slot(call.slot) != nil
        case .set(let range):
            var slots = history.slots
            slots.remove(call.slot)
            return !slots.overlaps(range, addressSpace: call.slot.addressSpace)
        }
    }

    private static func section(_ range: GuestRange, host: BackingLocation, flags: SlotFlags, name: String)
        -> MemorySection
    {
        let readOnly = flags.contains(.readOnly)
        return MemorySection(range: range, regionName: name, kind: readOnly ? .rom : .ram, backing: host,
                             readOnly: readOnly, romd: false, dirtyLog: flags.contains(.logDirtyPages))
    }
}

extension MemoryRegionCall {
    /// The call that issued `op` (a delete names only the slot's start).
    public init(_ op: SlotOperation, name: String) {
        self.init(slot: op.slot, flags: op.flags, request: op.kind == .delete ? .delete(gpa: op.range.start) : .set(op.range),
                  host: op.host, errno: op.errno, timeNs: nil, name: name)
    }
}
