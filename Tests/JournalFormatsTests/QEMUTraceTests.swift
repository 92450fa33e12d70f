import Foundation
import MemoryModel
import Memslots
import Testing
import TestSupport
import Analysis
@testable import JournalFormats
@testable import JournalStore

/// Writes `text` to a temporary trace file and returns its path.
func traceFile(_ text: String) throws -> String {
    let path = scratchPath("trace.log")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite struct QEMUTraceParsingTests {
    @Test func bothLineShapesAndExtraFields() throws {
        let plain = try #require(try QEMUTraceLine.parse(
            "kvm_set_user_memory Slot#4 flags=0x2 gpa=0x100000 size=0xff00000 ua=0x7f1200000000 ret=0", line: 7))
        #expect(plain.line == 7 && plain.slot == 4 && plain.flags == 2 && plain.gpa == 0x100000)
        #expect(plain.size == 0xff00000 && plain.userspaceAddress == 0x7f1200000000 && plain.ret == 0)
        #expect(plain.timeMicros == nil)

        let stamped = try #require(try QEMUTraceLine.parse(
            "7109@1795620449.628675:kvm_set_user_memory Slot#65537 flags=0x0 gpa=0x0 size=0x0 ua=0x0 ret=-22", line: 1))
        #expect(stamped.timeMicros == 1_795_620_449_628_675)
        #expect(SlotID(rawValue: stamped.slot).addressSpace == 1 && SlotID(rawValue: stamped.slot).index == 1)
        #expect(stamped.ret == -22)

        let newer = try #require(try QEMUTraceLine.parse(
            "kvm_set_user_memory AddrSpace#1 Slot#3 flags=0x0 gpa=0x0 size=0x1000 ua=0x7f0000200000 guest_memfd=-1 guest_memfd_offset=0x0 ret=0",
            line: 2))
        #expect(newer.slot == 3 | 1 << 16)
        // QEMU >= 9.0 with KVM_SET_USER_MEMORY_REGION2 (a guest_memfd), stamped: the format string of
        // accel/kvm/trace-events, "AddrSpace#%d Slot#%d flags=0x%x gpa=0x%"PRIx64" size=0x%"PRIx64
        // " ua=0x%"PRIx64" guest_memfd=%d guest_memfd_offset=0x%"PRIx64" ret=%d".
        let region2 = try #require(try QEMUTraceLine.parse(
            "812@1795620449.000001:kvm_set_user_memory AddrSpace#0 Slot#7 flags=0x4 gpa=0x80000000 size=0x200000 ua=0x7f0000400000 guest_memfd=12 guest_memfd_offset=0x200000 ret=0",
            line: 4))
        #expect(region2.slot == 7 && region2.flags == 4 && region2.gpa == 0x8000_0000 && region2.size == 0x200000)
        #expect(region2.timeMicros == 1_795_620_449_000_001)
        #expect(try QEMUTraceLine.parse("qemu-system-x86_64: warning: host doesn't support pni", line: 3) == nil)
    }

    @Test(arguments: [
        ("kvm_set_user_memory Slot#x flags=0x0 gpa=0x0 size=0x0 ua=0x0 ret=0", "bad slot"),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0x0 size=0x1000 ret=0", "missing ua="),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0x1ffffffffffffffffff size=0x1000 ua=0x0 ret=0", "gpa="),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0xfffffffffffff000 size=0x2000 ua=0x0 ret=0", "past 2^64"),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=99999999999", "ret="),
        ("kvm_set_user_memory Slot#99999999999 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0", "bad slot"),
        ("garbage kvm_set_user_memory Slot#1 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=0", "unexpected text"),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0x0 size=0x1000 ua=0xfffffffffffff000 ret=0", "user address space"),
        ("kvm_set_user_memory Slot#1 flags=0x0 gpa=0x0 size=0x1800 ua=0x7ffffffffffff000 ret=0", "user address space"),
    ])
    func malformedEventLinesAreErrors(_ line: String, _ expected: String) {
        #expect { try QEMUTraceLine.parse(Substring(line), line: 1) } throws: { error in
            "\((error as? QEMUTraceLine.Failure)?.detail ?? "")".contains(expected)
        }
    }

    @Test func malformedLineIsReportedWithItsNumberUnlessLenient() throws {
        let path = try traceFile("""
            kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0
            some other trace event
            kvm_set_user_memory Slot#0 flags=0xZZ gpa=0x0 size=0x0 ua=0x7f0000000000 ret=0

            """)
        defer { unlink(path) }
        #expect { try QEMUTraceImporter.read(path) } throws: { error in
            guard case .malformedLog(_, let line, let detail) = error as? JournalError else { return false }
            return line == 3 && detail.contains("flags")
        }
        let lenient = try QEMUTraceImporter.read(path, lenient: true)
        #expect(lenient.events == 1 && lenient.skipped.map(\.line) == [3])
    }
}

@Suite struct QEMUTraceGroupingTests {
    /// Worked out by hand: the first add is transaction 1; the delete that follows
    /// an add opens transaction 2 (delete slot 0, then two adds around a hole). The
    /// ranges mapped before and after — [0, 0x7ffff] and [0x90000, 0xfffff] — are
    /// unmapped between the delete and their adds; [0x80000, 0x8ffff] becomes a
    /// hole, so it is no hazard.
    @Test func groupingBackingsAndHazards() throws {
        let path = try traceFile("""
            1@100.000000:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0
            unrelated line
            1@100.000100:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x0 ua=0x7f0000000000 ret=0
            1@100.000130:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x80000 ua=0x7f0000000000 ret=0
            1@100.000170:kvm_set_user_memory Slot#1 flags=0x2 gpa=0x90000 size=0x70000 ua=0x7f0000090000 ret=0
            1@100.000200:kvm_set_user_memory Slot#2 flags=0x0 gpa=0x200000 size=0x1000 ua=0x7f5000000000 ret=-17

            """)
        defer { unlink(path) }
        let contents = try QEMUTraceImporter.read(path).contents
        #expect(contents.records.map { $0.slotOps.count } == [1, 4])
        #expect(contents.records.map(\.sequence) == [1, 2])
        // Two connected host ranges: the RAM (one backing) and the failed slot's page.
        #expect(contents.backings.map(\.size) == [0x100000, 0x1000])
        let second = contents.records[1]
        #expect(second.slotOps.map(\.kind) == [.delete, .create, .create, .create])
        #expect(second.slotOps.map(\.errno) == [0, 0, 0, 17])
        #expect(second.slotOps[2].host == BackingLocation(backing: 1, offset: 0x90000))
        #expect(second.slotOps[2].flags == .readOnly)
        #expect(second.decision.overlaps)
        #expect(second.beginNs == 100_000_100_000 && second.commitNs == 100_000_200_000)
        #expect(second.sections.map(\.section.regionName).first?.hasSuffix(":3") == true)

        let report = HazardAnalysis.analyse(contents.records)
        #expect(report.transactions.map(\.sequence) == [2])
        let windows = try #require(report.transactions.first?.windows)
        #expect(windows.map(\.range) == [try GuestRange(start: 0, size: 0x80000), try GuestRange(start: 0x90000, size: 0x70000)])
        #expect(windows.map(\.unmappedAfter) == [0, 0])
        #expect(windows.map(\.remappedBy) == [1, 2])
        #expect(windows.map(\.durationNs) == [30_000, 70_000])
        #expect(report.unprotected == 2)
    }

    /// Each address space has its own listener: a change of address space ends a
    /// transaction even between two adds, and each keeps its own slot table.
    @Test func addressSpacesFormSeparateTransactions() throws {
        let path = try traceFile("""
            kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0
            kvm_set_user_memory Slot#65536 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0
            kvm_set_user_memory AddrSpace#1 Slot#1 flags=0x0 gpa=0xa0000 size=0x20000 ua=0x7f1000000000 ret=0

            """)
        defer { unlink(path) }
        let records = try QEMUTraceImporter.read(path).contents.records
        #expect(records.map(\.addressSpace) == [0, 1])
        #expect(records.map(\.slotOps.count) == [1, 2])
        #expect(records.map(\.digest.count) == [1, 2])
    }

    @Test func inhibitedJournalsHaveProtectedWindowsOnly() throws {
        let path = try traceFile("""
            kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0
            kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x0 ua=0x7f0000000000 ret=0
            kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x100000 ua=0x7f0000000000 ret=0

            """)
        defer { unlink(path) }
        var records = try QEMUTraceImporter.read(path).contents.records
        #expect(HazardAnalysis.analyse(records).unprotected == 1)
        #expect(HazardAnalysis.analyse(records).longestNs == nil)  // no timestamps: no duration
        records[1].timing.inhibited = true
        let report = HazardAnalysis.analyse(records)
        #expect(report.windows == 1 && report.unprotected == 0)
    }
}
