import MemoryModel
import Memslots
import Testing

/// One-field changes to a recorded history, each of which replay must catch at
/// the changed transaction: the last overlapping one.
struct Tampering {
    let sequence: UInt64
    /// Index of the first create in that transaction (the one whose range moves).
    let create: Int
    /// The first create's range shrunk by a page at its start.
    let moved: [TransactionRecord]
    /// The first operation's errno set to EINVAL.
    let errno: [TransactionRecord]
    /// The overlap decision cleared.
    let decision: [TransactionRecord]

    init(_ records: [TransactionRecord]) throws {
        let victim = try #require(records.lastIndex { $0.decision.overlaps && $0.slotOps.count >= 2 })
        sequence = records[victim].sequence
        create = try #require(records[victim].slotOps.firstIndex { $0.kind == .create })
        var moved = records
        let op = moved[victim].slotOps[create]
        moved[victim].slotOps[create].range = try GuestRange(start: op.range.start + 0x1000, size: op.range.size! - 0x1000)
        self.moved = moved
        var errno = records
        errno[victim].slotOps[0].errno = 22
        self.errno = errno
        var decision = records
        decision[victim].decision = OverlapDecision(pair: nil)
        self.decision = decision
    }
}
