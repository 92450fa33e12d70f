import CCaptureRecord
@testable import Capture

/// Builds the records an interposer would send, through the C layout itself.
struct RecordStream {
    private(set) var sequence: UInt64 = 0

    mutating func make(_ kind: CaptureRecord.Kind, _ fill: (inout memjournal_record) -> Void = { _ in }) -> CaptureRecord {
        sequence += 1
        var raw = memjournal_record()
        raw.kind = kind.rawValue
        raw.version = UInt16(MEMJOURNAL_RECORD_VERSION)
        raw.guest_memfd = -1
        raw.sequence = sequence
        fill(&raw)
        return try! withUnsafeBytes(of: raw) { try CaptureRecord($0) }
    }

    mutating func region(slot: UInt32, gpa: UInt64, size: UInt64, ua: UInt64, flags: UInt32 = 0, at time: UInt64,
                         result: Int64 = 0) -> CaptureRecord {
        make(.setMemoryRegion) {
            $0.slot = slot
            $0.gpa = gpa
            $0.size = size
            $0.userspace_addr = ua
            $0.flags = flags
            $0.result = result
            $0.begin_ns = time
            $0.end_ns = time + 10
        }
    }

    mutating func mmio(vcpu: UInt32 = 1, gpa: UInt64, from begin: UInt64, to end: UInt64) -> CaptureRecord {
        make(.mmioExit) {
            $0.vcpu = vcpu
            $0.gpa = gpa
            $0.length = 4
            $0.is_write = 1
            $0.begin_ns = begin
            $0.end_ns = end
        }
    }
}
