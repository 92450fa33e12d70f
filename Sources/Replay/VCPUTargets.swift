import JournalStore
import MemoryModel
import Memslots

/// The addresses a replay's vCPUs may touch, chosen from the journal's history.
enum VCPUTargets {
    /// Whether a slot serves `gpa` for reads (and, with `write`, for writes) in the view.
    static func isMemory(_ gpa: UInt64, addressSpace: UInt16, write: Bool, in history: HistoryReducer) -> Bool {
        history.section(containing: gpa, addressSpace: addressSpace)?.servesAccess(isWrite: write) == true
    }

    /// Pages that are memory after every transaction of `records` from the first in
    /// `range` on — the addresses vCPUs may touch during a replay, writable where
    /// they stay writable. At most `limit`, lowest first. `validAfter` is the
    /// transaction after which they all are memory: vCPUs must not run before it
    /// is applied, or an access made while a target was not yet memory (a genuine
    /// exit) could be classified after the map said memory, and counted spurious.
    static func stayingMemory(_ records: RecordSequence, options: ReplayOptions, limit: Int = 64) throws
        -> (targets: [VCPUTarget], validAfter: UInt64?)
    {
        // First pass: the candidates (pages of every added section), and the first
        // transaction in the range.
        var candidates = Set<VCPUTarget>()
        var firstChecked = UInt64.max
        try records.forEach { record in
            if firstChecked == .max, options.inRange(record.sequence) { firstChecked = record.sequence }
            for section in record.adds where section.isSlotEligible {
                guard let size = section.range.size, size >= 0x1000 else { continue }
                let first = (section.range.start + 0xfff) & ~0xfff
                for gpa in [first, first + (size / 2) & ~0xfff] where section.range.contains(gpa + 3) {
                    candidates.insert(VCPUTarget(addressSpace: record.addressSpace, gpa: gpa, writes: true))
                }
            }
            return true
        }
        // Second pass: keep those that are memory after every transaction from the
        // one before the range through its end.
        var history = HistoryReducer()
        var reads = candidates
        var writes = candidates
        var validAfter: UInt64?
        var previous: TransactionRecord?
        func check(after record: TransactionRecord, next: UInt64) {
            guard next >= firstChecked, record.sequence <= (options.to ?? .max) else { return }
            validAfter = validAfter ?? record.sequence
            reads = reads.filter { isMemory($0.gpa, addressSpace: $0.addressSpace, write: false, in: history) }
            writes = writes.filter { isMemory($0.gpa, addressSpace: $0.addressSpace, write: true, in: history) }
        }
        try records.forEach { record in
            // The state after `previous` is checked once its successor's sequence is known.
            if let previous { check(after: previous, next: record.sequence) }
            // Only the views are needed here (the backend holds the slots): apply the sections.
            history.applySections(record.sections, addressSpace: record.addressSpace)
            previous = record
            return true
        }
        if let previous { check(after: previous, next: .max) }
        let targets = reads.map { VCPUTarget(addressSpace: $0.addressSpace, gpa: $0.gpa, writes: writes.contains($0)) }
        return (Array(targets.sorted { ($0.addressSpace, $0.gpa) < ($1.addressSpace, $1.gpa) }.prefix(limit)), validAfter)
    }
}
