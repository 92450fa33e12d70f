import MemoryModel

/// A journal's history folded into state: each address space's flat view and
/// slot table after every transaction applied so far.
///
/// The one place that knows how a `TransactionRecord` changes the memory map —
/// `inspect map`, hazards, the QEMU-trace import, replay's fault classification
/// and every later reader go through it. Views follow the listener callbacks
/// (`delete` removes the section of that range, `add` inserts one, `nop`
/// replaces its attributes, `log_start`/`log_stop` set or clear dirty logging);
/// slots follow the successful slot operations, as KVM applied them.
public struct HistoryReducer: Sendable {
    /// The slot tables of every address space.
    public private(set) var slots = MemslotMap()
    /// Each address space's flat view, ascending and disjoint. A sorted array: a
    /// view has tens to hundreds of sections, and replay publishes it after every
    /// transaction, which an array hands over without copying.
    private var views: [UInt16: [MemorySection]] = [:]
    /// The last transaction applied.
    public private(set) var lastSequence: UInt64?

    public init() {}

    /// One address space's flat view, ascending.
    public func view(_ addressSpace: UInt16) -> [MemorySection] { views[addressSpace] ?? [] }

    /// The section of the flat view that covers `gpa`, if any.
    public func section(containing gpa: UInt64, addressSpace: UInt16) -> MemorySection? {
        views[addressSpace]?.section(containing: gpa)
    }

    /// The digest of one address space's slot table (what the listener records).
    public func digest(addressSpace: UInt16) -> SlotTableDigest { slots.digest(addressSpace: addressSpace) }

    /// Address spaces with a view or a slot, ascending.
    public var addressSpaces: [UInt16] { Set(views.keys).union(slots.addressSpaces).sorted() }

    /// What the slots of one address space cover: their ranges, sorted and merged.
    public func coverage(addressSpace: UInt16) -> [GuestRange] {
        var merged: [GuestRange] = []
        for range in slots.slots(addressSpace: addressSpace).map(\.range) {
            if let last = merged.last, last.end.map({ range.start <= $0 }) ?? true {
                // Both ranges are valid and ordered, so start ≤ last holds.
                if range.last > last.last { merged[merged.count - 1] = try! GuestRange(start: last.start, last: range.last) }
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Applies one transaction: its sections to the view, its successful slot
    /// operations to the slots. Returns what each operation did to the slots.
    @discardableResult
    public mutating func apply(_ record: TransactionRecord) -> TransactionEffect {
        applySections(record.sections, addressSpace: record.addressSpace)
        var steps: [SlotStep] = []
        for (index, op) in record.slotOps.enumerated() {
            if let step = apply(op, index: index) { steps.append(step) }
        }
        lastSequence = record.sequence
        return TransactionEffect(sequence: record.sequence, addressSpace: record.addressSpace, steps: steps)
    }

    /// Applies listener callbacks to an address space's view.
    public mutating func applySections(_ sections: [SectionChange], addressSpace: UInt16) {
        var view = views.removeValue(forKey: addressSpace) ?? []
        for change in sections {
            let range = change.section.range
            // Sections are disjoint, so the one starting at `range.start`, if any,
            // is the first ending at or after it.
            let index = view.firstIndex(endingAtOrAfter: range.start)
            let here = index < view.count && view[index].range.start == range.start
            switch change.kind {
            case .add:
                // A listener adds only where its deletes made room; a history that
                // says otherwise (an imported move, an edited file) still gets a
                // sorted, disjoint view: the new section replaces what it covers.
                var end = index
                while end < view.count, view[end].range.start <= range.last { end += 1 }
                view.replaceSubrange(index..<end, with: [change.section])
            case .delete:
                if here && view[index].range == range { view.remove(at: index) }
            case .nop:
                if here && view[index].range == range { view[index] = change.section }
            case .logStart:
                if here && view[index].range == range { view[index].dirtyLog = true }
            case .logStop:
                if here && view[index].range == range { view[index].dirtyLog = false }
            }
        }
        views[addressSpace] = view
    }

    /// Applies one slot operation (at `index` in its transaction) if it succeeded
    /// and changes the table; returns what it did.
    @discardableResult
    public mutating func apply(_ op: SlotOperation, index: Int = 0) -> SlotStep? {
        guard op.succeeded, op.kind != .dirtyLog else { return nil }
        let (removed, installed) = slots.apply(op.request)
        guard !removed.isEmpty || installed != nil else { return nil }
        return SlotStep(operation: index, removed: removed, installed: installed)
    }
}

/// What one slot operation did to the slot table.
public struct SlotStep: Hashable, Sendable {
    /// Index of the operation in its transaction.
    public var operation: Int
    /// The slot the operation replaced or deleted (and, in a history that says
    /// so, another slot it displaced at the same start).
    public var removed: [Memslot]
    public var installed: Memslot?

    /// The ranges this step left unmapped (a delete, or the old place of a move).
    public var unmapped: [GuestRange] {
        removed.map(\.range).filter { $0 != installed?.range }
    }
}

/// What a transaction did to its address space's slots, operation by operation.
public struct TransactionEffect: Hashable, Sendable {
    public var sequence: UInt64
    public var addressSpace: UInt16
    /// The operations that changed the table, in order.
    public var steps: [SlotStep]

    /// A range unmapped by one operation and mapped again by a later one of the
    /// same transaction: a running vCPU that touches it in between exits.
    public struct Window: Hashable, Sendable {
        public var range: GuestRange
        /// The operation that unmapped the range, and the one that mapped it again.
        public var unmappedAfter: Int
        public var remappedBy: Int
    }

    /// Every range unmapped and then remapped within the transaction, in the
    /// order of the remapping operations. The listener (and QEMU) issue every
    /// delete before the adds, so sorting the gaps once when the adds begin keeps
    /// a 32,000-slot remap linear-logarithmic.
    public var windows: [Window] {
        var gaps = OpenGaps()
        var windows: [Window] = []
        for step in steps {
            for range in step.unmapped { gaps.add(range, op: step.operation) }
            guard let installed = step.installed else { continue }
            for gap in gaps.overlapping(installed.range) where gap.op < step.operation {
                if let piece = gap.range.intersection(installed.range) {
                    windows.append(Window(range: piece, unmappedAfter: gap.op, remappedBy: step.operation))
                }
            }
        }
        return windows
    }

    /// What served `gpa` through the transaction: `before` (the slot there before
    /// it, from the reducer), then each change as (operation index, slot or nil).
    public func mapping(at gpa: UInt64, before: Memslot?) -> GPAMapping {
        var changes: [(operation: Int, slot: Memslot?)] = []
        var current = before
        for step in steps {
            var next = current
            if step.removed.contains(where: { $0.range.contains(gpa) }) { next = nil }
            if let installed = step.installed, installed.range.contains(gpa) { next = installed }
            if next != current {
                changes.append((step.operation, next))
                current = next
            }
        }
        return GPAMapping(gpa: gpa, before: before, changes: changes, after: current)
    }
}

/// What served one guest-physical address before, during and after a transaction.
public struct GPAMapping: Sendable {
    public var gpa: UInt64
    public var before: Memslot?
    /// Each change, after the operation at that index.
    public var changes: [(operation: Int, slot: Memslot?)]
    public var after: Memslot?

    /// Mapped before and after, but unmapped after some operation in between.
    public var hasWindow: Bool { before != nil && after != nil && changes.contains { $0.slot == nil } }
}

/// Ranges unmapped so far in a transaction, searchable by address.
private struct OpenGaps {
    private var gaps: [(range: GuestRange, op: Int)] = []
    private var sorted = true
    private var disjoint = true

    mutating func add(_ range: GuestRange, op: Int) {
        gaps.append((range, op))
        sorted = false
    }

    mutating func overlapping(_ range: GuestRange) -> ArraySlice<(range: GuestRange, op: Int)> {
        if !sorted {
            gaps.sort { $0.range < $1.range }
            disjoint = zip(gaps, gaps.dropFirst()).allSatisfy { $0.range.last < $1.range.start }
            sorted = true
        }
        guard disjoint else { return gaps[...] }
        var low = 0, high = gaps.count
        while low < high {
            let mid = (low + high) / 2
            if gaps[mid].range.last < range.start { low = mid + 1 } else { high = mid }
        }
        var end = low
        while end < gaps.count, gaps[end].range.start <= range.last { end += 1 }
        return gaps[low..<end]
    }
}
