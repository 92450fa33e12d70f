import MemoryModel
import Memslots

/// Rebuilds each address space's flat view from the recorded sections, one
/// transaction at a time: deletes remove their range, adds insert theirs, nops
/// and log changes replace the range's attributes.
struct ViewTracker {
    private(set) var views: [UInt16: [MemorySection]] = [:]

    mutating func apply(_ record: TransactionRecord) {
        var view = views[record.addressSpace] ?? []
        for change in record.sections {
            switch change.kind {
            case .delete:
                view.removeAll { $0.range == change.section.range }
            case .add:
                view.removeAll { $0.range == change.section.range }
                view.insert(change.section, at: view.firstIndex { $0.range.start > change.section.range.start } ?? view.count)
            case .nop, .logStart, .logStop:
                guard let index = view.firstIndex(where: { $0.range == change.section.range }) else { continue }
                switch change.kind {
                case .logStart: view[index].dirtyLog = true
                case .logStop: view[index].dirtyLog = false
                default: view[index] = change.section
                }
            }
        }
        views[record.addressSpace] = view
    }

    func view(_ addressSpace: UInt16) -> [MemorySection] { views[addressSpace] ?? [] }

    /// Whether a slot serves `gpa` for reads (and, with `write`, for writes).
    func isMemory(_ gpa: UInt64, addressSpace: UInt16, write: Bool) -> Bool {
        guard let section = view(addressSpace).first(where: { $0.range.contains(gpa) }), section.isSlotEligible
        else { return false }
        return !(write && section.isReadOnlyMemory)
    }

    /// Pages that are memory after every transaction of `records` from the first in
    /// `range` on — the addresses vCPUs may touch during a replay, writable where
    /// they stay writable. At most `limit`, lowest first.
    static func stayingMemory(_ records: [TransactionRecord], options: ReplayOptions, limit: Int = 64) -> [VCPUTarget] {
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
        var tracker = ViewTracker()
        var reads = candidates
        var writes = candidates
        let firstChecked = records.first { options.inRange($0.sequence) }?.sequence ?? .max
        for (index, record) in records.enumerated() {
            tracker.apply(record)
            let next = index + 1 < records.count ? records[index + 1].sequence : .max
            // From the state just before the range, through its end.
            guard next >= firstChecked, record.sequence <= (options.to ?? .max) else { continue }
            reads = reads.filter { tracker.isMemory($0.gpa, addressSpace: $0.addressSpace, write: false) }
            writes = writes.filter { tracker.isMemory($0.gpa, addressSpace: $0.addressSpace, write: true) }
        }
        let targets = reads.map { VCPUTarget(addressSpace: $0.addressSpace, gpa: $0.gpa, writes: writes.contains($0)) }
        return Array(targets.sorted { ($0.addressSpace, $0.gpa) < ($1.addressSpace, $1.gpa) }.prefix(limit))
    }
}
