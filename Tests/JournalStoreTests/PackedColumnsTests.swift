@testable import JournalStore
import MemoryModel
import Memslots
import Testing

/// The packed `sections` and `slot_ops` columns of schema 8: every value a
/// record can hold comes back exactly, and a column that is cut short or holds
/// a code schema 8 does not define is refused with what is wrong, never read
/// past its end.
@Suite("Packed columns")
struct PackedColumnsTests {
    /// Region names interned in a dictionary, as `RegionNames` does in the table.
    final class Names {
        var ids: [String: UInt64] = [:]
        var names: [String] = []
        func id(_ name: String) -> UInt64 {
            if let id = ids[name] { return id }
            ids[name] = UInt64(names.count)
            names.append(name)
            return UInt64(names.count - 1)
        }
        func name(_ id: UInt64) -> String? { id < UInt64(names.count) ? names[Int(id)] : nil }
    }

    static let interesting: [UInt64] = [0, 1, 0x7f, 0x80, 0xfff, 0x1000, 0xfeb8_0000, 1 << 63, UInt64.max - 0x1000, UInt64.max]

    /// Sections and operations from `seed`: random kinds, attributes, ranges from
    /// the interesting values (page-aligned or not), with and without host memory;
    /// operations that copy a section and ones that do not.
    static func sample(seed: UInt64) -> (sections: [SectionChange], ops: [SlotOperation]) {
        var random = SeededRandom(seed: seed)
        func value() -> UInt64 {
            Bool.random(using: &random) ? interesting.randomElement(using: &random)! : UInt64.random(in: 0...UInt64.max, using: &random) & ~0xfff
        }
        func range() -> GuestRange {
            let a = value(), b = value()
            return try! GuestRange(start: min(a, b), last: max(a, b) | (Bool.random(using: &random) ? 0xfff : 0))
        }
        var sections: [SectionChange] = []
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let backing = Bool.random(using: &random)
                ? BackingLocation(backing: UInt32.random(in: 0...UInt32.max, using: &random), offset: value()) : nil
            sections.append(SectionChange(
                SectionChange.Kind.allCases.randomElement(using: &random)!,
                MemorySection(range: range(), regionName: ["pc.ram", "vga", "", "ünï ✓"].randomElement(using: &random)!,
                              kind: RegionKind.allCases.randomElement(using: &random)!, backing: backing,
                              readOnly: .random(using: &random), romd: .random(using: &random),
                              dirtyLog: .random(using: &random))))
        }
        var ops: [SlotOperation] = []
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let copied = sections.filter { $0.section.backing != nil }.randomElement(using: &random)
            let useCopy = copied != nil && Bool.random(using: &random)
            ops.append(SlotOperation(
                kind: SlotOperation.Kind.allCases.randomElement(using: &random)!,
                slot: SlotID(rawValue: [0, 3, 65540, UInt32.max].randomElement(using: &random)!),
                range: useCopy ? copied!.section.range : range(),
                host: useCopy ? copied!.section.backing!
                    : BackingLocation(backing: UInt32.random(in: 0...UInt32.max, using: &random), offset: value()),
                flags: SlotFlags(rawValue: [0, 1, 2, 3, 4, UInt32.max].randomElement(using: &random)!),
                errno: [0, 0, 14, 17, -5, Int32.min, Int32.max].randomElement(using: &random)!,
                durationNs: value()))
        }
        return (sections, ops)
    }

    @Test("sections and slot operations come back exactly", arguments: 0..<200)
    func roundTrip(seed: UInt64) throws {
        let (sections, ops) = Self.sample(seed: seed)
        let names = Names()
        let packed = try PackedColumns.sections(sections, regionID: names.id)
        #expect(try PackedColumns.sections(from: packed, regionName: names.name) == sections)
        let packedOps = PackedColumns.slotOps(ops, sections: sections)
        #expect(try PackedColumns.slotOps(from: packedOps, sections: sections) == ops)
        let counted = try PackedColumns.countSlotOps(in: packedOps)
        #expect(counted.total == ops.count && counted.failed == ops.filter { $0.errno != 0 }.count)
    }

    @Test("a column cut short is refused, naming the byte where it ends", arguments: 0..<40)
    func truncatedColumnsAreRefused(seed: UInt64) throws {
        let (sections, ops) = Self.sample(seed: seed)
        let names = Names()
        let packed = try PackedColumns.sections(sections, regionID: names.id)
        let packedOps = PackedColumns.slotOps(ops, sections: sections)
        // Every cut that is not at a record boundary ends early; at a boundary it is a shorter list.
        for cut in 0..<packed.count {
            do {
                let read = try PackedColumns.sections(from: Array(packed.prefix(cut)), regionName: names.name)
                #expect(read.count < sections.count && Array(sections.prefix(read.count)) == read)
            } catch {
                #expect(error.detail.contains("sections ends early (byte \(cut) of \(cut))"), "\(error.detail)")
            }
        }
        for cut in 0..<packedOps.count {
            do {
                let read = try PackedColumns.slotOps(from: Array(packedOps.prefix(cut)), sections: sections)
                #expect(read.count < ops.count && Array(ops.prefix(read.count)) == read)
            } catch {
                #expect(error.detail.contains("slot_ops ends early (byte \(cut) of \(cut))"), "\(error.detail)")
            }
        }
    }

    @Test("codes schema 8 does not define are refused")
    func undefinedCodesAreRefused() throws {
        let names = Names()
        let section = SectionChange(.add, MemorySection(
            range: try GuestRange(start: 0x1000, last: 0x1fff), regionName: "pc.ram", kind: .ram,
            backing: BackingLocation(backing: 1, offset: 0), readOnly: false, romd: false, dirtyLog: false))
        var packed = try PackedColumns.sections([section], regionID: names.id)
        packed[0] = packed[0] & ~7 | 5
        #expect(throws: PackedColumns.Malformed.self) { try PackedColumns.sections(from: packed, regionName: names.name) }
        let good = try PackedColumns.sections([section], regionID: names.id)
        #expect(throws: PackedColumns.Malformed.self) { try PackedColumns.sections(from: good, regionName: { _ in nil }) }

        let op = SlotOperation(kind: .create, slot: SlotID(rawValue: 0), range: section.section.range,
                               host: section.section.backing!, flags: SlotFlags(rawValue: 0), errno: 0, durationNs: 9)
        var ops = PackedColumns.slotOps([op], sections: [section])
        #expect(try PackedColumns.slotOps(from: ops, sections: [section]) == [op])
        // It copies section 0; without that section it names nothing.
        #expect(throws: PackedColumns.Malformed.self) { try PackedColumns.slotOps(from: ops, sections: []) }
        ops[0] |= 1 << 7
        #expect(throws: PackedColumns.Malformed.self) { try PackedColumns.slotOps(from: ops, sections: [section]) }
        // An eleven-byte varint is longer than 64 bits.
        let long: [UInt8] = [0] + Array(repeating: 0xff, count: 10) + [0x01]
        #expect(throws: PackedColumns.Malformed.self) { try PackedColumns.slotOps(from: long, sections: []) }
    }
}
