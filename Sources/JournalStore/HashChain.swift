import Crypto
import MemoryModel
import Memslots

/// The journal's hash chain (schema 5, migrations/0005_hash_chain.sql): what is
/// hashed and how links follow each other. The recorder and `import` extend it
/// as they write (`JournalRows`); `JournalVerifier` recomputes it from what a
/// reader decodes. Both go through the functions here, so the two cannot drift.
///
/// ## Canonical bytes
/// Each value is appended as a one-byte tag and its fields: integers as 8-byte
/// big-endian two's complement, booleans as one byte 0/1, strings as their
/// 8-byte UTF-8 length and bytes, optionals as a presence byte then the value,
/// lists as their 8-byte count then each element. Nothing depends on the
/// platform, SQLite's storage or a decoder's defaults: a value that reads back
/// differently hashes differently.
///
/// Content and measured times are hashed into separate chains so a verifier can
/// say "the times were edited" apart from "the history was edited".
public struct HashChain: Hashable, Sendable {
    /// A SHA-256 digest.
    public typealias Link = [UInt8]

    /// Where the chain started (`journal_header.chain_start`).
    public let start: Link
    /// Last link of each of the four chains (the start value before any link).
    public var transactions: Link
    public var transactionTimes: Link
    public var faults: Link
    public var faultTimes: Link
    /// Links made so far.
    public var transactionCount: Int = 0
    public var faultCount: Int = 0

    /// A chain at its start.
    public init(start: Link) {
        self.start = start
        transactions = Self.derive(start, "transactions")
        transactionTimes = Self.derive(start, "transaction times")
        faults = Self.derive(start, "faults")
        faultTimes = Self.derive(start, "fault times")
    }

    /// Links transaction `record` (complete) and returns its content and timing links.
    public mutating func link(_ record: TransactionRecord) -> (content: Link, timing: Link) {
        transactions = Self.hash(transactions, Self.contentBytes(of: record))
        transactionTimes = Self.hash(transactionTimes, Self.timingBytes(of: record))
        transactionCount += 1
        return (transactions, transactionTimes)
    }

    /// Links fault number `id` (its arrival order, from 1).
    public mutating func link(_ fault: SpuriousFault, id: Int64) -> (content: Link, timing: Link) {
        var content = CanonicalBytes(tag: "F")
        content.int(id)
        content.int(fault.vcpu)
        content.u64(fault.gpa)
        content.bool(fault.isWrite)
        content.optional(fault.transactionInFlight) { $0.u64($1) }
        var timing = CanonicalBytes(tag: "f")
        timing.int(id)
        timing.u64(fault.timeNs)
        faults = Self.hash(faults, content.bytes)
        faultTimes = Self.hash(faultTimes, timing.bytes)
        faultCount += 1
        return (faults, faultTimes)
    }

    /// The seal written with a clean close: every chain's end, the counts, the
    /// configuration hash, and what the close itself wrote (its time and the
    /// recorder's final statistics), which no link covers.
    public func seal(configuration: Link?, closedUnixNs: UInt64?, statistics: StoredRecorderStatistics?) -> Link {
        var bytes = CanonicalBytes(tag: "S")
        for link in [transactions, transactionTimes, faults, faultTimes] { bytes.raw(link) }
        bytes.int(transactionCount)
        bytes.int(faultCount)
        bytes.optional(configuration) { $0.raw($1) }
        bytes.optional(closedUnixNs) { $0.u64($1) }
        bytes.optional(statistics) { b, s in
            for value in [s.queueCapacity, s.stalls, s.batches, s.maxBatch] { b.optional(value) { $0.int($1) } }
            for value in [s.stallNs, s.lastSequence] { b.optional(value) { $0.u64($1) } }
        }
        return Self.hash(bytes.bytes)
    }

    // MARK: What is hashed

    /// Where a journal's chain starts: its header's identity.
    public static func start(for header: JournalHeader) -> Link {
        var bytes = CanonicalBytes(tag: "H")
        bytes.string("memjournal chain 1")
        bytes.string(header.toolVersion)
        bytes.u64(header.createdUnixNs)
        bytes.string(header.hostKernel)
        bytes.string(header.backend)
        bytes.optional(header.kvm) { b, kvm in
            b.int(kvm.apiVersion)
            b.int(kvm.nrMemslots)
            b.bool(kvm.readonlyMem)
            b.bool(kvm.immediateExit)
            b.int(kvm.multiAddressSpace)
        }
        bytes.int(header.maxSlots)
        bytes.u64(header.maxSlotSize)
        bytes.u64(header.pageSize)
        bytes.bool(header.readOnlySlots)
        bytes.int(header.vcpus)
        bytes.string(header.wait.rawValue)
        bytes.bool(header.inhibit)
        bytes.optional(header.scenario) { $0.string($1) }
        bytes.optional(header.seed) { $0.u64($1) }
        bytes.list(header.commandLine) { $0.string($1) }
        bytes.string(header.durability.rawValue)
        // Schema 6: only when present, so every earlier chain start is unchanged.
        if let comment = header.comment { bytes.string(comment) }
        return hash(bytes.bytes)
    }

    /// The configuration hash: the chain start, then the backings and the regions.
    public static func configuration(start: Link, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) -> Link {
        var bytes = CanonicalBytes(tag: "C")
        bytes.raw(start)
        bytes.list(backings.sorted { $0.id < $1.id }) { b, backing in
            b.int(backing.id)
            b.u64(backing.size)
            b.string(backing.kind.rawValue)
        }
        // An address space without sections has no rows, so it reads back absent: hash it so.
        bytes.list(regions.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }) { b, entry in
            b.int(entry.key)
            b.list(entry.value) { $0.section($1) }
        }
        return hash(bytes.bytes)
    }

    static func contentBytes(of record: TransactionRecord) -> [UInt8] {
        var bytes = CanonicalBytes(tag: "T")
        bytes.u64(record.sequence)
        bytes.int(record.addressSpace)
        bytes.list(record.sections) { b, change in
            b.string(change.kind.rawValue)
            b.section(change.section)
        }
        bytes.optional(record.decision.pair) { b, pair in
            b.int(pair.deleteIndex)
            b.int(pair.addIndex)
            b.range(pair.deleted)
            b.range(pair.added)
        }
        bytes.string(record.succeeded ? "ok" : "failed")
        bytes.bool(record.timing.inhibited)
        bytes.int(record.timing.vcpusKicked)
        bytes.list(record.slotOps) { b, op in
            b.string(op.kind.rawValue)
            b.int(op.slot.rawValue)
            b.range(op.range)
            b.int(op.host.backing)
            b.u64(op.host.offset)
            b.int(op.flags.rawValue)
            b.int(op.errno)
        }
        bytes.int(record.digest.count)
        bytes.u64(record.digest.hash)
        bytes.optional(record.timing.drainTimeout) { b, timeout in
            b.list(timeout.vcpus) { $0.int($1) }
            b.int(timeout.vmIoctls)
        }
        return bytes.bytes
    }

    static func timingBytes(of record: TransactionRecord) -> [UInt8] {
        var bytes = CanonicalBytes(tag: "t")
        bytes.u64(record.sequence)
        bytes.u64(record.beginNs)
        bytes.u64(record.commitNs)
        bytes.u64(record.timing.drainNs)
        bytes.u64(record.timing.applyNs)
        bytes.u64(record.timing.inhibitNs)
        bytes.list(record.slotOps) { $0.u64($1.durationNs) }
        return bytes.bytes
    }

    // MARK: SHA-256

    private static func derive(_ start: Link, _ name: String) -> Link {
        var bytes = CanonicalBytes(tag: "D")
        bytes.raw(start)
        bytes.string(name)
        return hash(bytes.bytes)
    }

    private static func hash(_ previous: Link, _ bytes: [UInt8]) -> Link {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: bytes)
        return Array(hasher.finalize())
    }

    private static func hash(_ bytes: [UInt8]) -> Link { Array(SHA256.hash(data: bytes)) }
}

/// The canonical byte encoding described on `HashChain`.
struct CanonicalBytes {
    private(set) var bytes: [UInt8] = []

    init(tag: Character) {
        bytes.reserveCapacity(256)
        bytes.append(tag.asciiValue ?? 0)
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int<T: BinaryInteger>(_ value: T) { u64(UInt64(truncatingIfNeeded: Int64(truncatingIfNeeded: value))) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func string(_ value: String) {
        int(value.utf8.count)
        bytes.append(contentsOf: value.utf8)
    }

    mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    mutating func optional<T>(_ value: T?, _ body: (inout CanonicalBytes, T) -> Void) {
        bool(value != nil)
        if let value { body(&self, value) }
    }

    mutating func list<C: Collection>(_ values: C, _ body: (inout CanonicalBytes, C.Element) -> Void) {
        int(values.count)
        for value in values { body(&self, value) }
    }

    mutating func range(_ range: GuestRange) {
        u64(range.start)
        u64(range.last)
    }

    mutating func section(_ s: MemorySection) {
        range(s.range)
        string(s.regionName)
        string(s.kind.rawValue)
        optional(s.backing) { b, backing in
            b.int(backing.backing)
            b.u64(backing.offset)
        }
        bool(s.readOnly)
        bool(s.romd)
        bool(s.dirtyLog)
    }
}
