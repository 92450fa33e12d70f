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
    static func stayingMemory(_ records: [TransactionRecord], options: ReplayOptions, limit: Int = 64)
        -> (targets: [VCPUTarget], validAfter: UInt64?)
    {
        var candidates = Set<VCPUTarget>()
        for record in records {
            for section in record.adds where section.isSlotEligible {
                guard let size = section.range.size, size >= 0x1000 else { continue }
                let first = (section.range.start + 0xfff) & ~0xfff
                for gpa in [first, first + (size / 2) & ~0xfff] where section.range.contains(gpa + 3) {
                    candidates.insert(VCPUTarget(addressSpace: record.addressSpace, gpa: gpa, writes: true))
                }
            }
        }
        var history = HistoryReducer()
        var reads = candidates
        var writes = candidates
        let firstChecked = records.first { options.inRange($0.sequence) }?.sequence ?? .max
        var validAfter: UInt64?
        for (index, record) in records.enumerated() {
            // Only the views are needed here (the backend holds the slots): apply the sections.
            history.applySections(record.sections, addressSpace: record.addressSpace)
            let next = index + 1 < records.count ? records[index + 1].sequence : .max
            // From the state just before the range, through its end.
            guard next >= firstChecked, record.sequence <= (options.to ?? .max) else { continue }
            validAfter = validAfter ?? record.sequence
            reads = reads.filter { isMemory($0.gpa, addressSpace: $0.addressSpace, write: false, in: history) }
            writes = writes.filter { isMemory($0.gpa, addressSpace: $0.addressSpace, write: true, in: history) }
        }
        let targets = reads.map { VCPUTarget(addressSpace: $0.addressSpace, gpa: $0.gpa, writes: writes.contains($0)) }
        return (Array(targets.sorted { ($0.addressSpace, $0.gpa) < ($1.addressSpace, $1.gpa) }.prefix(limit)), validAfter)
    }
}
