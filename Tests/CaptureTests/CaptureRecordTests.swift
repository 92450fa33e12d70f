import CCaptureRecord
import Testing
@testable import Capture

/// The record layout, read back through the one C definition; bad datagrams are named.
struct CaptureRecordTests {
    @Test func everyFieldComesBackFromTheCLayout() throws {
        var raw = memjournal_record()
        raw.kind = CaptureRecord.Kind.setMemoryRegion2.rawValue
        raw.version = UInt16(MEMJOURNAL_RECORD_VERSION)
        raw.vcpu = 3
        raw.result = -22
        raw.begin_ns = 100
        raw.end_ns = 200
        raw.slot = 5 | 1 << 16
        raw.flags = 2
        raw.gpa = 0xf0000
        raw.size = 0x10000
        raw.userspace_addr = 0x7f00_0000_0000
        raw.guest_memfd = 9
        raw.guest_memfd_offset = 0x2000
        raw.dropped_exits = 4
        raw.sequence = 77
        let record = try withUnsafeBytes(of: raw) { try CaptureRecord($0) }
        #expect(record.kind == .setMemoryRegion2 && record.vcpu == 3 && record.result == -22)
        #expect(record.beginNs == 100 && record.endNs == 200 && record.slot == 0x10005 && record.flags == 2)
        #expect(record.gpa == 0xf0000 && record.size == 0x10000 && record.userspaceAddress == 0x7f00_0000_0000)
        #expect(record.guestMemfd == 9 && record.guestMemfdOffset == 0x2000 && record.droppedExits == 4 && record.sequence == 77)
        #expect(MemoryLayout<memjournal_record>.size == CaptureRecord.size)
    }

    @Test func wrongSizesVersionsAndKindsAreRefusedWithWhy() {
        var raw = memjournal_record()
        raw.kind = 4
        raw.version = UInt16(MEMJOURNAL_RECORD_VERSION) + 1
        let bytes = withUnsafeBytes(of: raw) { Array($0) }
        #expect(throws: CaptureRecord.Malformed.self) { try bytes.withUnsafeBytes { try CaptureRecord($0) } }
        do {
            _ = try bytes.withUnsafeBytes { try CaptureRecord($0) }
        } catch {
            #expect((error as? CaptureRecord.Malformed)?.detail.contains("record version") == true)
        }
        #expect(throws: CaptureRecord.Malformed.self) { try bytes.dropLast().withUnsafeBytes { try CaptureRecord($0) } }
        raw.version = UInt16(MEMJOURNAL_RECORD_VERSION)
        raw.kind = 99
        #expect(throws: CaptureRecord.Malformed(detail: "unknown record kind 99")) {
            try withUnsafeBytes(of: raw) { try CaptureRecord($0) }
        }
    }
}
