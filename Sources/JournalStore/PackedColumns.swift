import MemoryModel
import Memslots

/// The two packed columns of a schema-8 transaction row, `sections` and
/// `slot_ops`: a transaction's section changes and slot operations as one BLOB
/// each instead of a row each, which is what brings a journal under 64 bytes per
/// slot operation. The byte layout is defined in migrations/0008_packed_transactions.sql;
/// this is its only encoder and decoder (the recorder, the builder, the
/// migration of older journals and the reader all use it).
enum PackedColumns {
    /// A packed column that does not decode: what is wrong, without the
    /// transaction (the caller names it).
    typealias Malformed = StoredValues.Invalid

    // MARK: Sections

    /// Packs `sections`, naming each region by its id from `regionID`.
    static func sections(_ sections: [SectionChange], regionID: (String) throws(SQLiteError) -> UInt64)
        throws(SQLiteError) -> [UInt8]
    {
        var out = ByteWriter()
        out.bytes.reserveCapacity(sections.count * 16)
        for change in sections {
            let s = change.section
            var head = UInt8(sectionKindCode(change.kind)) | UInt8(regionKindCode(s.kind)) << 3
            if s.readOnly { head |= 1 << 5 }
            if s.romd { head |= 1 << 6 }
            if s.dirtyLog { head |= 1 << 7 }
            out.byte(head)
            let scaled = pageScaled(s.range, offset: s.backing?.offset)
            let name = try regionID(s.regionName)
            out.varint(name << 2 | (s.backing != nil ? 2 : 0) | (scaled ? 1 : 0))
            out.range(s.range, scaled: scaled)
            if let b = s.backing {
                out.varint(UInt64(b.backing))
                out.varint(scaled ? b.offset >> pageShift : b.offset)
            }
        }
        return out.bytes
    }

    /// The section changes packed in `bytes`, with region names from `regionName`.
    static func sections(from bytes: [UInt8], regionName: (UInt64) -> String?) throws(Malformed) -> [SectionChange] {
        var input = ByteReader(bytes: bytes, what: "sections")
        var result: [SectionChange] = []
        while !input.atEnd {
            let what = "section \(result.count)"
            let head = try input.byte(what)
            guard let kind = sectionKinds[safe: Int(head & 7)] else {
                throw Malformed(detail: "\(what): change kind code \(head & 7) is not one schema 8 defines")
            }
            let regionKind = regionKinds[Int(head >> 3 & 3)]
            let name = try input.varint(what)
            let scaled = name & 1 == 1
            guard let regionName = regionName(name >> 2) else {
                throw Malformed(detail: "\(what): region name id \(name >> 2) is not in region_names")
            }
            let range = try input.range(what, scaled: scaled)
            var backing: BackingLocation?
            if name & 2 != 0 {
                let id = try input.u32(what)
                let offset = try input.varint(what)
                guard !scaled || offset >> (64 - pageShift) == 0 else {
                    throw Malformed(detail: "\(what): page-scaled backing offset overflows 64 bits")
                }
                backing = BackingLocation(backing: id, offset: scaled ? offset << pageShift : offset)
            }
            result.append(SectionChange(kind, MemorySection(
                range: range, regionName: regionName, kind: regionKind, backing: backing,
                readOnly: head & 1 << 5 != 0, romd: head & 1 << 6 != 0, dirtyLog: head & 1 << 7 != 0)))
        }
        return result
    }

    // MARK: Slot operations

    /// Packs `ops`; an operation on exactly a section's range and host memory
    /// names that section of `sections` instead of repeating them.
    static func slotOps(_ ops: [SlotOperation], sections: [SectionChange]) -> [UInt8] {
        var out = ByteWriter()
        out.bytes.reserveCapacity(ops.count * 8)
        for op in ops {
            let copied = sections.firstIndex { change in
                change.section.range == op.range && change.section.backing == op.host
            }
            var head = UInt8(slotOpKindCode(op.kind))
            if copied != nil { head |= 1 << 3 }
            if op.errno != 0 { head |= 1 << 4 }
            head |= UInt8(min(op.flags.rawValue, 3)) << 5
            out.byte(head)
            out.varint(UInt64(op.slot.rawValue))
            if let copied {
                out.varint(UInt64(copied))
            } else {
                out.range(op.range, scaled: false)
                out.varint(UInt64(op.host.backing))
                out.varint(op.host.offset)
            }
            if op.flags.rawValue >= 3 { out.varint(UInt64(op.flags.rawValue)) }
            if op.errno != 0 { out.varint(zigzag(Int64(op.errno))) }
            out.varint(op.durationNs)
        }
        return out.bytes
    }

    /// The slot operations packed in `bytes`, whose copied sections are `sections`.
    static func slotOps(from bytes: [UInt8], sections: [SectionChange]) throws(Malformed) -> [SlotOperation] {
        var result: [SlotOperation] = []
        try forEachSlotOp(in: bytes) { (op, what) throws(Malformed) in
            let range: GuestRange
            let host: BackingLocation
            switch op.place {
            case .copies(let ordinal):
                guard ordinal < UInt64(sections.count), let backing = sections[Int(ordinal)].section.backing else {
                    throw Malformed(detail: "\(what): copies section \(ordinal), which \(ordinal < UInt64(sections.count) ? "has no host memory" : "the transaction does not have")")
                }
                range = sections[Int(ordinal)].section.range
                host = backing
            case .explicit(let r, let h):
                (range, host) = (r, h)
            }
            result.append(SlotOperation(
                kind: op.kind, slot: SlotID(rawValue: op.slot), range: range, host: host,
                flags: SlotFlags(rawValue: op.flags), errno: op.errno, durationNs: op.durationNs))
        }
        return result
    }

    /// The number of slot operations in `bytes` and how many failed, read
    /// without the sections they copy (what `inspect summary` counts).
    static func countSlotOps(in bytes: [UInt8]) throws(Malformed) -> (total: Int, failed: Int) {
        var total = 0, failed = 0
        try forEachSlotOp(in: bytes) { (op, _) throws(Malformed) in
            total += 1
            if op.errno != 0 { failed += 1 }
        }
        return (total, failed)
    }

    /// One slot-operation record as stored: where its range and host memory are
    /// (a section it copies, or its own), and the rest.
    private struct StoredSlotOp {
        enum Place { case copies(UInt64), explicit(GuestRange, BackingLocation) }
        var kind: SlotOperation.Kind
        var slot: UInt32
        var place: Place
        var flags: UInt32
        var errno: Int32
        var durationNs: UInt64
    }

    /// Reads each slot-operation record of `bytes` in order (the one reader of the layout).
    private static func forEachSlotOp(
        in bytes: [UInt8], _ body: (StoredSlotOp, String) throws(Malformed) -> Void
    ) throws(Malformed) {
        var input = ByteReader(bytes: bytes, what: "slot_ops")
        var index = 0
        while !input.atEnd {
            let what = "slot operation \(index)"
            let head = try input.byte(what)
            guard let kind = slotOpKinds[safe: Int(head & 7)] else {
                throw Malformed(detail: "\(what): kind code \(head & 7) is not one schema 8 defines")
            }
            guard head & 1 << 7 == 0 else { throw Malformed(detail: "\(what): reserved bit 7 is set") }
            let slot = try input.u32(what)
            let place: StoredSlotOp.Place = head & 1 << 3 != 0
                ? .copies(try input.varint(what))
                : .explicit(try input.range(what, scaled: false),
                            BackingLocation(backing: try input.u32(what), offset: try input.varint(what)))
            var flags = UInt32(head >> 5 & 3)
            if flags == 3 { flags = try input.u32(what) }
            // Stored as zigzag Int64 (an older journal's errno column held any integer);
            // read as the reader always read it: clamped to Int32.
            let errno = head & 1 << 4 != 0 ? Int32(clamping: unzigzag(try input.varint(what))) : 0
            try body(StoredSlotOp(kind: kind, slot: slot, place: place, flags: flags, errno: errno,
                                  durationNs: try input.varint(what)), what)
            index += 1
        }
    }

    // MARK: Codes (on-disk values: never renumber)

    static let sectionKinds: [SectionChange.Kind] = [.delete, .add, .nop, .logStart, .logStop]
    static let regionKinds: [RegionKind] = [.ram, .rom, .romDevice, .mmio]
    static let slotOpKinds: [SlotOperation.Kind] = [.create, .delete, .move, .flags, .dirtyLog]

    static func sectionKindCode(_ kind: SectionChange.Kind) -> Int { sectionKinds.firstIndex(of: kind)! }
    static func regionKindCode(_ kind: RegionKind) -> Int { regionKinds.firstIndex(of: kind)! }
    static func slotOpKindCode(_ kind: SlotOperation.Kind) -> Int { slotOpKinds.firstIndex(of: kind)! }

    /// Ranges, sizes and offsets that are whole 4 KiB pages are stored in pages.
    static let pageShift: UInt64 = 12

    private static func pageScaled(_ range: GuestRange, offset: UInt64?) -> Bool {
        let mask: UInt64 = (1 << pageShift) - 1
        return range.start & mask == 0 && range.last & mask == mask && (offset ?? 0) & mask == 0
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: v << 1 ^ v >> 63) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}

/// Unsigned LEB128 varints and single bytes, appended.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Start, then last − start (never overflows: a range of all 2^64 bytes is
    /// start 0, extent 2^64 − 1); in pages when `scaled`.
    mutating func range(_ r: GuestRange, scaled: Bool) {
        let shift = scaled ? PackedColumns.pageShift : 0
        varint(r.start >> shift)
        varint((r.last - r.start) >> shift)
    }
}

/// Reads what `ByteWriter` wrote; every read checks the bounds.
private struct ByteReader {
    let bytes: [UInt8]
    let what: String
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func byte(_ item: String) throws(PackedColumns.Malformed) -> UInt8 {
        guard offset < bytes.count else { throw truncated(item) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint(_ item: String) throws(PackedColumns.Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw truncated(item) }
            let b = bytes[offset]
            offset += 1
            guard shift < 63 || (shift == 63 && b <= 1) else {
                throw PackedColumns.Malformed(detail: "\(item): a number in \(what) is longer than 64 bits (byte \(offset - 1))")
            }
            value |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }

    mutating func u32(_ item: String) throws(PackedColumns.Malformed) -> UInt32 {
        let v = try varint(item)
        guard let u = UInt32(exactly: v) else {
            throw PackedColumns.Malformed(detail: "\(item): \(v) is not a 32-bit unsigned value")
        }
        return u
    }

    mutating func range(_ item: String, scaled: Bool) throws(PackedColumns.Malformed) -> GuestRange {
        let shift = scaled ? PackedColumns.pageShift : 0
        let start = try varint(item), extent = try varint(item)
        let limit = UInt64.max >> shift
        guard start <= limit, extent <= limit else {
            throw PackedColumns.Malformed(detail: "\(item): page-scaled range overflows 64 bits")
        }
        let first = start << shift
        let span = extent << shift | (scaled ? (1 << shift) - 1 : 0)
        let (last, overflow) = first.addingReportingOverflow(span)
        guard !overflow, let range = try? GuestRange(start: first, last: last) else {
            throw PackedColumns.Malformed(detail: "\(item): range from \(hex(first)) of extent \(hex(span)) passes 2^64")
        }
        return range
    }

    private func truncated(_ item: String) -> PackedColumns.Malformed {
        PackedColumns.Malformed(detail: "\(item): \(what) ends early (byte \(offset) of \(bytes.count))")
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
