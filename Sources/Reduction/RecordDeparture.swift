import Memslots

/// How a recorded transaction differs from what its derivation gives at the
/// same place in the whole input — an edited field, or what another backend
/// did — expressed so it can be carried over to the same transaction re-derived
/// in a smaller history: the recorded decision where it differs, each operation's
/// differing fields by index, operations recorded beyond or short of the derived
/// ones, and the difference of the slot-table digests (digests add up per slot).
struct RecordDeparture: Sendable {
    var decision: OverlapDecision?
    var operations: [(index: Int, recorded: SlotOperation, fields: [Field])]
    /// The number of operations recorded, when it differs, and those beyond the derived.
    var recordedCount: Int?
    var extraOperations: [SlotOperation]
    var digestDelta: (count: Int, hash: UInt64)

    enum Field: CaseIterable, Sendable {
        case kind, slot, range, host, flags, errno

        func differs(_ a: SlotOperation, _ b: SlotOperation) -> Bool {
            switch self {
            case .kind: a.kind != b.kind
            case .slot: a.slot != b.slot
            case .range: a.range != b.range
            case .host: a.host != b.host
            case .flags: a.flags != b.flags
            case .errno: a.errno != b.errno
            }
        }

        func copy(from source: SlotOperation, to target: inout SlotOperation) {
            switch self {
            case .kind: target.kind = source.kind
            case .slot: target.slot = source.slot
            case .range: target.range = source.range
            case .host: target.host = source.host
            case .flags: target.flags = source.flags
            case .errno: target.errno = source.errno
            }
        }
    }

    /// nil when `recorded` is what the derivation gave (times aside).
    init?(recorded: TransactionRecord, derived: TransactionRecord) {
        decision = recorded.decision != derived.decision ? recorded.decision : nil
        operations = []
        for index in 0..<min(recorded.slotOps.count, derived.slotOps.count) {
            let fields = Field.allCases.filter { $0.differs(recorded.slotOps[index], derived.slotOps[index]) }
            if !fields.isEmpty { operations.append((index, recorded.slotOps[index], fields)) }
        }
        recordedCount = recorded.slotOps.count != derived.slotOps.count ? recorded.slotOps.count : nil
        extraOperations = Array(recorded.slotOps.dropFirst(derived.slotOps.count)).map { op in
            var op = op
            op.durationNs = 0
            return op
        }
        digestDelta = (recorded.digest.count - derived.digest.count, recorded.digest.hash &- derived.digest.hash)
        if decision == nil, operations.isEmpty, recordedCount == nil, digestDelta == (0, 0) { return nil }
    }

    /// Carries the departure over to `record`, the same transaction re-derived elsewhere.
    func apply(to record: inout TransactionRecord) {
        if let decision { record.decision = decision }
        for (index, recorded, fields) in operations where index < record.slotOps.count {
            for field in fields { field.copy(from: recorded, to: &record.slotOps[index]) }
        }
        if let recordedCount {
            if recordedCount < record.slotOps.count { record.slotOps.removeLast(record.slotOps.count - recordedCount) }
            record.slotOps += extraOperations
        }
        record.digest.count += digestDelta.count
        record.digest.hash &+= digestDelta.hash
    }
}
