import MemoryModel
import Memslots
import JSON
import JournalStore

/// Where `CanonicalJSONL.Decoder` hands each piece of a history once it is
/// checked, in file order: a journal being built (`import`, in memory that does
/// not grow with the file) or a history gathered in memory (`read`).
protocol CanonicalSink {
    /// After the header line: the journal's header and configuration.
    mutating func start(header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]])
        throws(JournalError)
    mutating func add(_ record: TransactionRecord) throws(JournalError)
    mutating func add(_ cut: CutOffTransaction) throws(JournalError)
    /// Fault number `id`; ids come in any order (a transaction's faults with it,
    /// the others at the end) and are exactly 1…N once the file is read.
    mutating func add(_ fault: SpuriousFault, id: Int) throws(JournalError)
}

extension CanonicalJSONL {
    /// A journal built as the file is read, created once the header line is checked.
    final class JournalImport: CanonicalSink {
        let path: String
        private(set) var builder: JournalBuilder?

        init(path: String) { self.path = path }

        func start(header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]])
            throws(JournalError)
        {
            let builder = try JournalBuilder(path: path, header: header)
            try builder.configuration(backings: backings, regions: regions)
            self.builder = builder
        }
        func add(_ record: TransactionRecord) throws(JournalError) { try builder?.add(record) }
        func add(_ cut: CutOffTransaction) throws(JournalError) { try builder?.add(cut) }
        func add(_ fault: SpuriousFault, id: Int) throws(JournalError) { try builder?.add(fault, id: id) }
    }

    /// A history gathered in memory, for `read`.
    struct ContentsCollector: CanonicalSink {
        var backings: [BackingDescriptor] = []
        var regions: [UInt16: [MemorySection]] = [:]
        var records: [TransactionRecord] = []
        var cutOff: [CutOffTransaction] = []
        var faults: [Int: SpuriousFault] = [:]

        mutating func start(header: JournalHeader, backings: [BackingDescriptor], regions: [UInt16: [MemorySection]]) {
            self.backings = backings
            self.regions = regions
        }
        mutating func add(_ record: TransactionRecord) { records.append(record) }
        mutating func add(_ cut: CutOffTransaction) { cutOff.append(cut) }
        mutating func add(_ fault: SpuriousFault, id: Int) { faults[id] = fault }

        func contents(header: JournalHeader, statistics: StoredRecorderStatistics?) -> JournalContents {
            JournalContents(
                header: header, backings: backings, regions: regions, records: records, cutOff: cutOff,
                faults: (0..<faults.count).compactMap { faults[$0 + 1] }, recorderStatistics: statistics)
        }
    }

    /// One line of the canonical form, parsed (on the reading thread): its JSON,
    /// or why it is none. A UTF-8 byte-order mark at the start of line 1 is
    /// dropped (editors and other tools prepend one; it changes nothing).
    ///
    /// A transaction line's slot operations (about a fifth of the work of a
    /// line) are read here too: they depend on nothing read before them, and
    /// reading them on the reading thread balances the two. What they give,
    /// records or the first error, is used where the decoder reads them, so its
    /// checks and messages come in the same order as when it reads them itself.
    struct ParsedLine: Sendable {
        enum Content: Sendable {
            case json(JSONTape, slotOps: Result<[SlotOperation], JSONError>?)
            /// Only spaces, tabs and carriage returns: nothing before the header,
            /// else this error.
            case blank(JSONError)
            case invalid(JSONError)
        }

        let number: Int
        let content: Content

        init(_ line: [UInt8], number: Int) {
            self.number = number
            var bytes = line[...]
            if number == 1, bytes.starts(with: TextFile.byteOrderMark) { bytes = bytes.dropFirst(3) }
            let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }
            let tape: JSONTape
            do {
                tape = try JSONParser.tape(bytes.count == line.count ? line : Array(bytes))
            } catch {
                content = blank ? .blank(error) : .invalid(error)
                return
            }
            guard number > 1, tape.rootKind == .object, var f = try? JSONFields(tape, context: ""), f.has("slot_ops") else {
                content = .json(tape, slotOps: nil)
                return
            }
            do throws(JSONError) {
                content = .json(tape, slotOps: .success(try f.objects("slot_ops", CanonicalJSONL.slotOperation)))
            } catch {
                content = .json(tape, slotOps: .failure(error))
            }
        }
    }

    /// Reads the canonical form one line at a time, checking each line fully
    /// before the next (see docs/jsonl-format.md for every rule enforced here),
    /// and hands what it read to `sink` line by line.
    ///
    /// Counts announced by the header are only compared against, never used to
    /// size an allocation.
    struct Decoder<Sink: CanonicalSink> {
        let path: String
        var sink: Sink
        private var header: JournalHeader?
        private var backings: [BackingDescriptor] = []
        private var regions: [UInt16: [MemorySection]] = [:]
        private var statistics: StoredRecorderStatistics?
        private var announcedTransactions = 0
        private var announcedFaults = 0
        private var transactions = 0
        private var firstCutOff: UInt64?
        private var lastSequence: UInt64 = 0
        /// The fault ids read so far (to refuse one twice); nil when the file
        /// was checked whole before (a walk), where a set of every id would
        /// grow with the file.
        private var faultIDs: Set<Int>?
        private var faults = 0
        /// What the line being read yields, handed to the sink once the line is checked.
        private var pending: [Piece] = []
        /// The line's slot operations as the reading thread read them (nil: not read there).
        private var readSlotOps: Result<[SlotOperation], JSONError>?
        private var lines = 0

        private enum Piece {
            case record(TransactionRecord)
            case cutOff(CutOffTransaction)
            case fault(SpuriousFault, id: Int)
        }

        /// `checkingFaultIDs` false: for a file already checked whole (and not
        /// changed since, `FileIdentity`), whose ids are known to be distinct.
        init(path: String, sink: Sink, checkingFaultIDs: Bool = true) {
            self.path = path
            self.sink = sink
            faultIDs = checkingFaultIDs ? [] : nil
        }

        mutating func line(_ line: ParsedLine) throws(JournalError) {
            let number = line.number
            lines = number
            let value: JSONTape
            switch line.content {
            case .json(let tape, let slotOps):
                value = tape
                readSlotOps = slotOps
            case .blank(let error):
                // Editors and other tools prepend blank lines; they change nothing.
                guard header == nil else { throw .malformed(path: path, line: number, detail: error.detail) }
                return
            case .invalid(let error): throw .malformed(path: path, line: number, detail: error.detail)
            }
            let wasHeader = header == nil
            do {
                if header == nil {
                    try readHeader(value)
                } else {
                    try readEntry(value)
                }
            } catch {
                throw .malformed(path: path, line: number, detail: error.detail)
            }
            if wasHeader, let header { try sink.start(header: header, backings: backings, regions: regions) }
            for piece in pending {
                switch piece {
                case .record(let record): try sink.add(record)
                case .cutOff(let cut): try sink.add(cut)
                case .fault(let fault, let id): try sink.add(fault, id: id)
                }
            }
            pending.removeAll(keepingCapacity: true)
        }

        /// Checks what only the whole file can show (truncation, fault ids);
        /// returns the header and the recorder statistics.
        func finish() throws(JournalError) -> (JournalHeader, StoredRecorderStatistics?) {
            let end = lines + 1
            guard let header else {
                throw .malformed(path: path, line: 1, detail: "empty file: expected the header line {\"format\":\"\(formatName)\",…}")
            }
            guard transactions == announcedTransactions else {
                throw .malformed(
                    path: path, line: end,
                    detail: "the file ends after \(transactions) transaction line(s) but its header (line 1) announces \(announcedTransactions): it was truncated")
            }
            guard faults == announcedFaults else {
                throw .malformed(
                    path: path, line: end,
                    detail: "the file ends after \(faults) fault(s) but its header (line 1) announces \(announcedFaults): it was truncated")
            }
            if header.cleanClose, let cut = firstCutOff {
                throw .malformed(
                    path: path, line: 1,
                    detail: "the header says the journal was closed cleanly, but transaction \(cut) is cut off, which only a recording cut short leaves")
            }
            // Ids are unique and within 1...announcedFaults, and there are that many:
            // they are exactly 1...announcedFaults.
            return (header, statistics)
        }

        // MARK: Header line

        private mutating func readHeader(_ value: JSONTape) throws(JSONError) {
            let notJSONL = JSONError("not a memjournal JSONL file: line 1 must be the header {\"format\":\"\(formatName)\",\"version\":\(version),…}")
            guard value.rootKind == .object else { throw notJSONL }
            var f = try JSONFields(value, context: "")
            guard f.has("format"), (try? f.string("format", maxBytes: 64)) == formatName else { throw notJSONL }
            let v = try f.integer("version", in: Int64.min...Int64.max)
            guard v == Int64(version) else {
                throw JSONError("format version \(v) is not supported: this memjournal reads version \(version); use the memjournal that wrote the file")
            }
            let comment = f.has("comment") ? try f.string("comment", maxBytes: maxStringBytes) : nil
            if comment?.isEmpty == true { throw JSONError("comment: must not be empty (leave the key out instead)") }
            announcedTransactions = try f.int("transactions", in: 0...Int.max)
            announcedFaults = try f.int("faults", in: 0...Int.max)

            var h = try f.object("header")
            var kvm: JournalHeader.KVMCapabilities?
            if try !h.isNull("kvm") {
                var k = try h.object("kvm")
                kvm = JournalHeader.KVMCapabilities(
                    apiVersion: try k.int("api_version", in: Int(Int32.min)...Int(Int32.max)),
                    nrMemslots: try k.int("nr_memslots", in: 0...Int(Int32.max)),
                    readonlyMem: try k.bool("readonly_mem"), immediateExit: try k.bool("immediate_exit"),
                    multiAddressSpace: try k.int("multi_address_space", in: 0...Int(Int32.max)))
                try k.finish()
            }
            let maxSlots = try h.int("max_slots", in: 1...Int.max)
            let maxSlotSize = try h.hex64("max_slot_size")
            let pageSize = try h.hex64("page_size")
            guard pageSize > 0 else { throw JSONError("header.page_size: must be at least 1") }
            let caps = BackendCapabilities(
                maxSlots: maxSlots, maxSlotSize: maxSlotSize, readOnlyMemory: try h.bool("readonly_slots"),
                addressSpaces: kvm?.multiAddressSpace ?? 2, pageSize: pageSize)
            var header = JournalHeader(
                toolVersion: try h.string("tool_version", maxBytes: 4096), createdUnixNs: 0,
                hostKernel: try h.string("host_kernel", maxBytes: 4096), backend: try h.string("backend", maxBytes: 64),
                kvm: kvm, capabilities: caps, vcpus: try h.int("vcpus", in: 0...Int.max),
                wait: try h.choice("wait", WaitStrategy.self), inhibit: try h.bool("inhibit"),
                scenario: try h.nullable("scenario") { (o: inout JSONFields, k: String) throws(JSONError) in try o.string(k, maxBytes: 256) },
                seed: try h.nullable("seed") { (o: inout JSONFields, k: String) throws(JSONError) in try o.hex64(k) },
                commandLine: [], durability: try h.choice("durability", Durability.self),
                cleanClose: try h.bool("clean_close"))
            var total = 0
            header.commandLine = try h.array("command_line") { (v, context) throws(JSONError) -> String in
                guard case .string(let word) = v else { throw JSONError("\(context): expected a string, found \(v.typeName)") }
                total += word.utf8.count + 3
                guard total <= maxCommandLineBytes else {
                    throw JSONError("\(context): the command line exceeds \(maxCommandLineBytes) bytes")
                }
                return word
            }
            var m = try h.object("measured")
            header.createdUnixNs = try m.hex64("created_unix_ns")
            header.closedUnixNs = try m.nullable("closed_unix_ns") { (o: inout JSONFields, k: String) throws(JSONError) in try o.hex64(k) }
            try m.finish()
            try h.finish()
            header.comment = comment

            var lastBacking: Int64 = -1
            backings = try f.objects("backings") { (b: inout JSONFields) throws(JSONError) in
                let id = try b.u32("id")
                guard Int64(id) > lastBacking else { throw JSONError("\(b.context).id: backing ids must be strictly increasing") }
                lastBacking = Int64(id)
                let descriptor = BackingDescriptor(id: id, size: try b.hex64("size"), kind: try b.choice("kind", BackingKind.self))
                try b.finish()
                return descriptor
            }
            var lastAS = -1
            for (asID, sections) in try f.objects("regions", { (r: inout JSONFields) throws(JSONError) in
                let asID = try r.int("as", in: 0...Int(UInt16.max))
                guard asID > lastAS else { throw JSONError("\(r.context).as: address spaces must be strictly increasing") }
                lastAS = asID
                let sections = try r.objects("sections") { (s: inout JSONFields) throws(JSONError) in
                    let section = try Self.section(&s)
                    try s.finish()
                    return section
                }
                try r.finish()
                return (UInt16(asID), sections)
            }) {
                regions[asID] = sections
            }
            if try !f.isNull("recorder") {
                var r = try f.object("recorder")
                let last = try r.nullable("last_sequence") { (o: inout JSONFields, k: String) throws(JSONError) in try o.u64Number(k) }
                var m = try r.object("measured")
                func count(_ key: String, min: Int) throws(JSONError) -> Int? {
                    try m.nullable(key) { (o: inout JSONFields, k: String) throws(JSONError) in try o.int(k, in: min...Int.max) }
                }
                statistics = StoredRecorderStatistics(
                    queueCapacity: try count("queue_capacity", min: 1), stalls: try count("stalls", min: 0),
                    stallNs: try m.nullable("stall_ns") { (o: inout JSONFields, k: String) throws(JSONError) in try o.hex64(k) },
                    batches: try count("batches", min: 0), maxBatch: try count("max_batch", min: 0), lastSequence: last)
                try m.finish()
                try r.finish()
            }
            try f.finish()
            self.header = header
        }

        // MARK: Transaction and fault lines

        private mutating func readEntry(_ value: JSONTape) throws(JSONError) {
            var f = try JSONFields(value, context: "")
            if f.has("fault") {
                var o = try f.object("fault")
                try f.finish()
                let inFlight = try o.nullable("transaction_in_flight") { (o: inout JSONFields, k: String) throws(JSONError) in
                    try o.u64Number(k)
                }
                try readFault(&o, inFlight: inFlight)
                return
            }
            guard transactions < announcedTransactions else {
                throw JSONError("more transaction lines than the \(announcedTransactions) the header (line 1) announces")
            }
            let sequence = UInt64(try f.integer("seq", in: 1...Int64.max))
            guard sequence > lastSequence else {
                throw JSONError("seq \(sequence) does not follow \(lastSequence): transactions must be in increasing sequence order")
            }
            guard sequence == lastSequence + 1 else {
                let gap = sequence - 1 == lastSequence + 1 ? "transaction \(lastSequence + 1)" : "transactions \(lastSequence + 1)…\(sequence - 1)"
                throw JSONError(lastSequence == 0 ? "\(gap) missing: the history starts at \(sequence)"
                                : "\(gap) missing: \(lastSequence) is followed by \(sequence)")
            }
            lastSequence = sequence
            transactions += 1
            let addressSpace = UInt16(try f.int("as", in: 0...Int(UInt16.max)))
            let outcome = try f.string("outcome", maxBytes: 16)
            guard ["ok", "failed", cutOffOutcome].contains(outcome) else {
                throw JSONError("outcome: \"\(outcome)\" is not one of \"ok\", \"failed\", \"\(cutOffOutcome)\"")
            }
            let sections = try f.objects("sections") { (s: inout JSONFields) throws(JSONError) in
                let kind = try s.choice("change", SectionChange.Kind.self)
                let section = try Self.section(&s)
                try s.finish()
                return SectionChange(kind, section)
            }
            let decision = try Self.decision(&f, sections: sections)
            for var o in try f.objects("faults", { (o: inout JSONFields) throws(JSONError) in o }) {
                try readFault(&o, inFlight: sequence)
            }
            var m = try f.object("measured")
            let beginNs = try m.hex64("begin_ns")

            if outcome == cutOffOutcome {
                for key in ["inhibited", "slot_ops", "digest", "drain_timeout"] where f.has(key) {
                    throw JSONError("\(key): a cut-off transaction has no outcome, so no \"\(key)\"")
                }
                try m.finish()
                try f.finish()
                firstCutOff = firstCutOff ?? sequence
                pending.insert(.cutOff(CutOffTransaction(
                    sequence: sequence, addressSpace: addressSpace, beginNs: beginNs, sections: sections, decision: decision)),
                    at: 0)
                return
            }
            let inhibited = try f.bool("inhibited")
            let ops: [SlotOperation]
            if let read = readSlotOps {
                try f.markRead("slot_ops")
                ops = try read.get()
            } else {
                ops = try f.objects("slot_ops", CanonicalJSONL.slotOperation)
            }
            let failed = ops.contains { $0.errno != 0 }
            guard failed == (outcome == "failed") else {
                throw JSONError(
                    "outcome: \"\(outcome)\" contradicts slot_ops (\(failed ? "an operation failed" : "every operation succeeded")); it must be \"\(failed ? "failed" : "ok")\"")
            }
            var d = try f.object("digest")
            let digest = SlotTableDigest(count: try d.int("slots", in: 0...Int.max), hash: try d.hex64("hash"))
            try d.finish()
            var drainTimeout: DrainTimeout?
            if f.has("drain_timeout") {
                var t = try f.object("drain_timeout")
                let vcpus = try t.array("vcpus") { (v, context) throws(JSONError) -> Int in
                    guard case .number(let digits) = v, let vcpu = Int(digits), vcpu >= 0 else {
                        throw JSONError("\(context): expected a vCPU index")
                    }
                    return vcpu
                }
                drainTimeout = DrainTimeout(vcpus: vcpus, vmIoctls: try t.int("vm_ioctls", in: 0...Int.max))
                try t.finish()
                guard inhibited else { throw JSONError("drain_timeout: only an inhibited transaction has a drain") }
            }
            let timing = InhibitTiming(
                inhibited: inhibited, drainNs: try m.hex64("drain_ns"), applyNs: try m.hex64("apply_ns"),
                inhibitNs: try m.hex64("inhibit_ns"), vcpusKicked: try m.int("vcpus_kicked", in: 0...Int.max),
                drainTimeout: drainTimeout)
            let commitNs = try m.hex64("commit_ns")
            try m.finish()
            try f.finish()
            // Before its faults (read first, above): a transaction, then what happened in it.
            pending.insert(.record(TransactionRecord(
                sequence: sequence, addressSpace: addressSpace, beginNs: beginNs, commitNs: commitNs, sections: sections,
                decision: decision, slotOps: ops, timing: timing, digest: digest)), at: 0)
        }

        private mutating func readFault(_ o: inout JSONFields, inFlight: UInt64?) throws(JSONError) {
            let limit = announcedFaults
            let id = try o.int("id", in: 1...Swift.max(1, limit))
            guard limit > 0 else { throw JSONError("\(o.context): a fault, but the header (line 1) announces none") }
            guard faultIDs?.contains(id) != true else { throw JSONError("\(o.context).id: fault \(id) appears twice") }
            let vcpu = try o.int("vcpu", in: 0...Int.max)
            let gpa = try o.hex64("gpa")
            let isWrite = try o.bool("write")
            var m = try o.object("measured")
            let time = try m.hex64("time_ns")
            try m.finish()
            try o.finish()
            faultIDs?.insert(id)
            faults += 1
            pending.append(.fault(SpuriousFault(vcpu: vcpu, gpa: gpa, isWrite: isWrite, timeNs: time, transactionInFlight: inFlight), id: id))
        }

        // MARK: Shared pieces

        /// start, last, region, kind, backing, read_only, romd, dirty_log.
        static func section(_ s: inout JSONFields) throws(JSONError) -> MemorySection {
            let range = try range(try s.hex64("start"), try s.hex64("last"), s.context)
            let name = try s.string("region")
            let kind = try s.choice("kind", RegionKind.self)
            var backing: BackingLocation?
            if try !s.isNull("backing") {
                var b = try s.object("backing")
                backing = BackingLocation(backing: try b.u32("id"), offset: try b.hex64("offset"))
                try b.finish()
            }
            return MemorySection(
                range: range, regionName: name, kind: kind, backing: backing, readOnly: try s.bool("read_only"),
                romd: try s.bool("romd"), dirtyLog: try s.bool("dirty_log"))
        }

        /// The overlap decision; its pair must name a delete and an add of this
        /// transaction by index, with their ranges.
        static func decision(_ f: inout JSONFields, sections: [SectionChange]) throws(JSONError) -> OverlapDecision {
            guard try f.value("overlap") != .null else { return OverlapDecision(pair: nil) }
            var o = try f.object("overlap")
            let deletes = sections.filter { $0.kind == .delete }
            let adds = sections.filter { $0.kind == .add }
            let d = try o.int("delete_index", in: 0...Int.max)
            let a = try o.int("add_index", in: 0...Int.max)
            let deleted = try range(try o.hex64("deleted_start"), try o.hex64("deleted_last"), "overlap.deleted")
            let added = try range(try o.hex64("added_start"), try o.hex64("added_last"), "overlap.added")
            try o.finish()
            guard d < deletes.count, deletes[d].section.range == deleted else {
                throw JSONError("overlap.delete_index: \(d) does not name a deleted section with range \(deleted)")
            }
            guard a < adds.count, adds[a].section.range == added else {
                throw JSONError("overlap.add_index: \(a) does not name an added section with range \(added)")
            }
            return OverlapDecision(pair: .init(deleteIndex: d, addIndex: a, deleted: deleted, added: added))
        }

    }
}

extension JSONFields {
    /// A u64 written as a plain JSON integer (sequence numbers), exact.
    mutating func u64Number(_ key: String) throws(JSONError) -> UInt64 {
        guard case .number(let text) = try value(key) else {
            throw JSONError("\(context.isEmpty ? key : context + "." + key): expected an integer")
        }
        guard let v = UInt64(text) else {
            throw JSONError("\(context.isEmpty ? key : context + "." + key): \(text) is not an integer in 0...\(UInt64.max)")
        }
        return v
    }
}

extension CanonicalJSONL {
    /// One element of `slot_ops`.
    static func slotOperation(_ o: inout JSONFields) throws(JSONError) -> SlotOperation {
        let kind = try o.choice("kind", SlotOperation.Kind.self)
        let slot = SlotID(rawValue: try o.u32("slot"))
        let range = try Self.range(try o.hex64("start"), try o.hex64("last"), o.context)
        guard range.size != nil else { throw JSONError("\(o.context): a slot cannot span all 2^64 bytes") }
        let host = BackingLocation(backing: try o.u32("backing"), offset: try o.hex64("offset"))
        let flags = SlotFlags(rawValue: try o.u32("flags"))
        let errno = Int32(try o.integer("errno", in: Int64(Int32.min)...Int64(Int32.max)))
        var om = try o.object("measured")
        let duration = try om.hex64("duration_ns")
        try om.finish()
        try o.finish()
        return SlotOperation(kind: kind, slot: slot, range: range, host: host, flags: flags, errno: errno, durationNs: duration)
    }

    /// The range `start…last`, or an error naming `context`.
    static func range(_ start: UInt64, _ last: UInt64, _ context: @autoclosure () -> String) throws(JSONError) -> GuestRange {
        do {
            return try GuestRange(start: start, last: last)
        } catch {
            throw JSONError("\(context()): \(error)")
        }
    }
}
