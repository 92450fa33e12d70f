import JournalStore
import MemoryModel
import Memslots

/// A semantic diff of two histories: transactions aligned by what they do, not
/// by sequence number, with what differs inside the pairs that changed and the
/// first point where the memory maps part.
///
/// Alignment keys leave out slot ids, host locations and times; the pairs are
/// then compared whole. By default a slot id or a host location that differs
/// *consistently* (slot #3 here is always #5 there; backing 1 here is always
/// backing 4 there) is a renaming, not a difference, and times never count;
/// `ignoring` drops a field from every comparison, `strict` compares every field
/// as written.
public struct HistoryDiff: Sendable {
    /// What may differ without counting.
    public struct Ignored: OptionSet, Hashable, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let slotIDs = Ignored(rawValue: 1 << 0)
        public static let hosts = Ignored(rawValue: 1 << 1)
        public static let times = Ignored(rawValue: 1 << 2)
        /// Ranges compared by their start: a RAM of another size is the same RAM.
        public static let sizes = Ignored(rawValue: 1 << 3)
        /// Region names (an imported trace names its sections after its file and line).
        public static let names = Ignored(rawValue: 1 << 4)
    }

    public struct Options: Hashable, Sendable {
        public var ignored: Ignored
        /// Compare slot ids and hosts as written (no renaming) and times too.
        public var strict: Bool

        /// At most this many of each of `changed`, `removed` and `inserted` are
        /// kept (all are counted): what a report prints, in memory that does not
        /// grow with two very different histories.
        public var listed: Int

        public init(ignored: Ignored = [.times], strict: Bool = false, listed: Int = .max) {
            self.ignored = strict ? [] : ignored.union(.times)
            self.strict = strict
            self.listed = listed
        }
    }

    /// A transaction of one side that has a counterpart on the other, but not an equal one.
    public struct Change: Hashable, Sendable {
        public var a: UInt64
        public var b: UInt64
        /// What differs, one line each ("op 0: … ≠ …").
        public var differences: [String]
    }

    /// Where the slot tables first differ after an aligned pair.
    public struct MapDifference: Hashable, Sendable {
        public var a: UInt64
        public var b: UInt64
        public var addressSpace: UInt16
        public var address: UInt64
        /// The slot at `address` on each side (nil: none).
        public var slotA: Memslot?
        public var slotB: Memslot?
    }

    public var transactionsA: Int
    public var transactionsB: Int
    /// Pairs equal under the options.
    public var equal: Int
    /// The first `options.listed` changed pairs, in order.
    public var changed: [Change]
    /// The first `options.listed` transactions only in A, and only in B, by sequence.
    public var removed: [UInt64]
    public var inserted: [UInt64]
    /// How many pairs changed, and how many transactions are only in A and only in B (listed or not).
    public var changedCount: Int
    public var removedCount: Int
    public var insertedCount: Int
    public var firstMapDifference: MapDifference?
    /// Whether the alignment is a shortest one (false: histories so different
    /// that the middle was aligned by position).
    public var exactAlignment: Bool

    public var equivalent: Bool { changedCount == 0 && removedCount == 0 && insertedCount == 0 && firstMapDifference == nil }

    /// The diff of two histories in memory.
    public init(_ a: [TransactionRecord], _ b: [TransactionRecord], options: Options = Options()) {
        do { self = try HistoryDiff(.memory(a), .memory(b), options: options) } catch {
            preconditionFailure("records in memory cannot fail to read: \(error)")
        }
    }

    /// The diff of two histories, each walked twice (a journal a window at a
    /// time): first for the alignment keys — one integer per transaction, in a
    /// scratch file past a few megabytes — then side by side along the edit
    /// script, holding only the run of unmatched transactions between two aligned
    /// pairs (flushed every `runLimit`, where a positional middle makes it long).
    public init(_ a: RecordSequence, _ b: RecordSequence, options: Options = Options(),
                keysInMemory: Int = 1 << 17) throws(JournalError) {
        var comparison = Comparison(options: options)
        // Alignment keys: each transaction's shape hashed to one integer (this
        // process's hasher, the same for both sides). Two shapes that collide would
        // only be aligned with each other; an aligned pair is still compared whole.
        func keys(_ records: RecordSequence) throws(JournalError) -> AlignmentKeys {
            let keys = AlignmentKeys(memoryLimit: keysInMemory)
            var cursor = records.makeCursor()
            while let record = try cursor.next() { keys.append(Shape(record, options.ignored).hashValue) }
            keys.finish()
            if let failure = keys.failure { throw failure }
            return keys
        }
        let keysA = try keys(a), keysB = try keys(b)
        transactionsA = keysA.count
        transactionsB = keysB.count
        let script = EditScript(keysA, keysB)
        if let failure = keysA.failure ?? keysB.failure { throw failure }
        exactAlignment = script.exact
        equal = 0
        changed = []
        removed = []
        inserted = []
        changedCount = 0
        removedCount = 0
        insertedCount = 0
        firstMapDifference = nil
        let listed = options.listed
        func change(_ x: TransactionRecord, _ y: TransactionRecord, _ differences: [String]) {
            changedCount += 1
            if changed.count < listed { changed.append(Change(a: x.sequence, b: y.sequence, differences: differences)) }
        }
        func remove(_ x: TransactionRecord) {
            removedCount += 1
            if removed.count < listed { removed.append(x.sequence) }
        }
        func insert(_ y: TransactionRecord) {
            insertedCount += 1
            if inserted.count < listed { inserted.append(y.sequence) }
        }

        var cursorA = a.makeCursor(), cursorB = b.makeCursor()
        var mapA = HistoryReducer(), mapB = HistoryReducer()
        var pendingRemoved: [TransactionRecord] = [], pendingInserted: [TransactionRecord] = []
        func next(_ cursor: inout RecordSequence.Cursor, _ side: RecordSequence) throws(JournalError) -> TransactionRecord {
            guard let record = try cursor.next() else {
                // Only a journal changed by someone else between the two walks gets here.
                throw .damaged(path: side.path ?? "", detail: "fewer transactions on the second read than on the first")
            }
            return record
        }
        // A run of removals and insertions between two equal pairs: paired in order
        // where the address spaces agree (changed), the rest only on one side.
        func flushRun() {
            var insertedLeft = pendingInserted[...]
            for x in pendingRemoved {
                mapA.apply(x)
                if let match = insertedLeft.firstIndex(where: { $0.addressSpace == x.addressSpace }) {
                    for y in insertedLeft[insertedLeft.startIndex..<match] {
                        insert(y)
                        mapB.apply(y)
                    }
                    let y = insertedLeft[match]
                    insertedLeft = insertedLeft[(match + 1)...]
                    mapB.apply(y)
                    change(x, y, comparison.differences(x, y))
                    compareMaps(x, y)
                } else {
                    remove(x)
                }
            }
            for y in insertedLeft {
                insert(y)
                mapB.apply(y)
            }
            pendingRemoved.removeAll()
            pendingInserted.removeAll()
        }
        func compareMaps(_ x: TransactionRecord, _ y: TransactionRecord) {
            guard firstMapDifference == nil else { return }
            // Only these address spaces changed since the tables last compared equal.
            for space in Set([x.addressSpace, y.addressSpace]).sorted() where firstMapDifference == nil {
                firstMapDifference = comparison.firstDifference(mapA, mapB, space: space, after: x.sequence, y.sequence)
            }
        }
        // The steps visit each side's transactions in order, each once.
        try script.forEachStep { (step) throws(JournalError) in
            switch step {
            case .removed:
                pendingRemoved.append(try next(&cursorA, a))
                if pendingRemoved.count + pendingInserted.count >= Self.runLimit { flushRun() }
            case .inserted:
                pendingInserted.append(try next(&cursorB, b))
                if pendingRemoved.count + pendingInserted.count >= Self.runLimit { flushRun() }
            case .same:
                flushRun()
                let x = try next(&cursorA, a), y = try next(&cursorB, b)
                mapA.apply(x)
                mapB.apply(y)
                let differences = comparison.differences(x, y)
                if differences.isEmpty { equal += 1 } else { change(x, y, differences) }
                compareMaps(x, y)
            }
        }
        flushRun()
        if let failure = keysA.failure ?? keysB.failure { throw failure }
    }

    /// Unmatched transactions held before they are paired: more than a shortest
    /// script's run can have (`EditScript`'s 2,000 edits), so only a positional
    /// middle is paired in pieces.
    static let runLimit = 4_096
}

/// What aligns two transactions: their address space, sections, whether they
/// overlap, and their operations' kinds, ranges, flags and results — no slot
/// ids, hosts or times.
private struct Shape: Hashable {
    struct Piece: Hashable {
        var change: String
        var start: UInt64
        var last: UInt64?
        var name: String?
        var kind: RegionKind
        var readOnly: Bool
        var romd: Bool
        var dirtyLog: Bool
    }

    struct Operation: Hashable {
        var kind: SlotOperation.Kind
        var start: UInt64
        var last: UInt64?
        var flags: UInt32
        var errno: Int32
    }

    var addressSpace: UInt16
    var sections: [Piece]
    var overlaps: Bool
    var operations: [Operation]

    init(_ record: TransactionRecord, _ ignored: HistoryDiff.Ignored) {
        let sizes = ignored.contains(.sizes)
        addressSpace = record.addressSpace
        sections = record.sections.map { change in
            let s = change.section
            return Piece(change: change.kind.rawValue, start: s.range.start, last: sizes ? nil : s.range.last,
                         name: ignored.contains(.names) ? nil : s.regionName, kind: s.kind, readOnly: s.readOnly,
                         romd: s.romd, dirtyLog: s.dirtyLog)
        }
        overlaps = record.decision.overlaps
        operations = record.slotOps.map {
            Operation(kind: $0.kind, start: $0.range.start, last: sizes ? nil : $0.range.last, flags: $0.flags.rawValue,
                      errno: $0.errno)
        }
    }
}

/// Compares aligned transactions field by field, learning the renamings of slot
/// ids and backings as it goes (first pairing wins; a later pairing that
/// contradicts it is a difference).
private struct Comparison {
    let options: HistoryDiff.Options
    var slotsAB: [SlotID: SlotID] = [:]
    var slotsBA: [SlotID: SlotID] = [:]
    var backingsAB: [BackingID: BackingID] = [:]
    var backingsBA: [BackingID: BackingID] = [:]
    /// Whether every renaming learnt so far is the identity (or there are none).
    private var renamingsAreIdentity = true

    init(options: HistoryDiff.Options) { self.options = options }

    private var renames: Bool { !options.strict }

    /// Whether slot `x` of A stands for slot `y` of B (learning it when new).
    mutating func same(slot x: SlotID, _ y: SlotID) -> Bool {
        if options.ignored.contains(.slotIDs) { return true }
        guard renames else { return x == y }
        switch (slotsAB[x], slotsBA[y]) {
        case (nil, nil):
            slotsAB[x] = y
            slotsBA[y] = x
            if x != y { renamingsAreIdentity = false }
            return true
        case (let known?, _): return known == y
        case (nil, _?): return false
        }
    }

    mutating func same(host x: BackingLocation?, _ y: BackingLocation?) -> Bool {
        if options.ignored.contains(.hosts) { return true }
        guard let x, let y else { return x == nil && y == nil }
        guard x.offset == y.offset else { return false }
        guard renames else { return x.backing == y.backing }
        switch (backingsAB[x.backing], backingsBA[y.backing]) {
        case (nil, nil):
            backingsAB[x.backing] = y.backing
            backingsBA[y.backing] = x.backing
            if x.backing != y.backing { renamingsAreIdentity = false }
            return true
        case (let known?, _): return known == y.backing
        case (nil, _?): return false
        }
    }

    func same(range x: GuestRange, _ y: GuestRange) -> Bool {
        options.ignored.contains(.sizes) ? x.start == y.start : x == y
    }

    /// What differs between two aligned transactions, one line each; empty when they are equal.
    mutating func differences(_ a: TransactionRecord, _ b: TransactionRecord) -> [String] {
        var lines: [String] = []
        if a.addressSpace != b.addressSpace { lines.append("address space \(a.addressSpace) ≠ \(b.addressSpace)") }
        if a.sections.count != b.sections.count { lines.append("\(a.sections.count) section(s) ≠ \(b.sections.count)") }
        for (index, (x, y)) in zip(a.sections, b.sections).enumerated() where !same(section: x, y) {
            lines.append("section \(index): \(x) ≠ \(y)")
        }
        if a.decision.overlaps != b.decision.overlaps
            || (!options.ignored.contains(.sizes) && a.decision.pair != b.decision.pair) {
            lines.append("overlap: \(a.decision.pair.map { "\($0.deleted) × \($0.added)" } ?? "none") ≠ "
                + "\(b.decision.pair.map { "\($0.deleted) × \($0.added)" } ?? "none")")
        }
        if a.slotOps.count != b.slotOps.count { lines.append("\(a.slotOps.count) slot operation(s) ≠ \(b.slotOps.count)") }
        for (index, (x, y)) in zip(a.slotOps, b.slotOps).enumerated() where !same(operation: x, y) {
            lines.append("op \(index): \(x) ≠ \(y)")
        }
        if !options.ignored.contains(.times) {
            if a.beginNs != b.beginNs || a.commitNs != b.commitNs || a.timing != b.timing
                || a.slotOps.map(\.durationNs) != b.slotOps.map(\.durationNs) {
                lines.append("times: begin \(a.beginNs) commit \(a.commitNs) ≠ begin \(b.beginNs) commit \(b.commitNs) (or the drain, apply or operation times)")
            }
        }
        return lines
    }

    private mutating func same(section x: SectionChange, _ y: SectionChange) -> Bool {
        let s = x.section, t = y.section
        return x.kind == y.kind && same(range: s.range, t.range)
            && (options.ignored.contains(.names) || s.regionName == t.regionName)
            && s.kind == t.kind && s.readOnly == t.readOnly && s.romd == t.romd && s.dirtyLog == t.dirtyLog
            && same(host: s.backing, t.backing)
    }

    private mutating func same(operation x: SlotOperation, _ y: SlotOperation) -> Bool {
        x.kind == y.kind && same(range: x.range, y.range) && x.flags == y.flags && x.errno == y.errno
            && same(slot: x.slot, y.slot) && same(host: x.host, y.host)
    }

    /// The lowest address where the two slot tables of `space` differ (under the
    /// renamings), if any. Equal digests mean equal tables, which differ under no
    /// option while no slot or backing was renamed: checked first, in O(1).
    mutating func firstDifference(_ a: HistoryReducer, _ b: HistoryReducer, space: UInt16, after x: UInt64, _ y: UInt64)
        -> HistoryDiff.MapDifference?
    {
        if renamingsAreIdentity && a.digest(addressSpace: space) == b.digest(addressSpace: space) { return nil }
        let left = a.slots.slots(addressSpace: space), right = b.slots.slots(addressSpace: space)
        for index in 0..<max(left.count, right.count) {
            let s = index < left.count ? left[index] : nil
            let t = index < right.count ? right[index] : nil
            if let s, let t, same(range: s.range, t.range), s.flags == t.flags, same(slot: s.id, t.id),
               same(host: s.host, t.host) { continue }
            let address = min(s?.range.start ?? .max, t?.range.start ?? .max)
            return HistoryDiff.MapDifference(
                a: x, b: y, addressSpace: space, address: address,
                slotA: a.slots.slot(containing: address, addressSpace: space),
                slotB: b.slots.slot(containing: address, addressSpace: space))
        }
        return nil
    }
}
