import CCaptureRecord

/// One record from the interposer (layout: `memjournal_record.h`, the one
/// definition both sides compile against).
public struct CaptureRecord: Hashable, Sendable {
    public enum Kind: UInt16, Sendable {
        case hello = 1, createVM, createVCPU, setMemoryRegion, setMemoryRegion2, getDirtyLog, clearDirtyLog, mmioExit,
             internalError, goodbye
    }

    public var kind: Kind
    public var vcpu: UInt32
    public var result: Int64
    public var beginNs: UInt64
    public var endNs: UInt64
    public var slot: UInt32
    public var flags: UInt32
    public var gpa: UInt64
    public var size: UInt64
    public var userspaceAddress: UInt64
    public var guestMemfd: Int32
    public var guestMemfdOffset: UInt64
    public var length: UInt32
    public var isWrite: Bool
    public var droppedExits: UInt32
    public var sequence: UInt64

    public static let size = Int(MEMJOURNAL_RECORD_SIZE)
    public static let version = UInt16(MEMJOURNAL_RECORD_VERSION)
    /// The variable the interposer reads the recorder's socket path from.
    public static let socketVariable = MEMJOURNAL_SOCKET_ENV

    /// Why bytes from the socket are not a record.
    public struct Malformed: Error, Equatable, Sendable {
        public var detail: String
    }

    /// Reads one datagram; it must be exactly one record of this version.
    public init(_ bytes: UnsafeRawBufferPointer) throws(Malformed) {
        guard bytes.count == Self.size else {
            throw Malformed(detail: "a datagram of \(bytes.count) bytes (a record is \(Self.size))")
        }
        let raw = bytes.loadUnaligned(as: memjournal_record.self)
        guard raw.version == Self.version else {
            throw Malformed(detail: "record version \(raw.version) (this memjournal reads \(Self.version)); use the interposer built with it")
        }
        guard let kind = Kind(rawValue: raw.kind) else { throw Malformed(detail: "unknown record kind \(raw.kind)") }
        self.kind = kind
        vcpu = raw.vcpu
        result = raw.result
        beginNs = raw.begin_ns
        endNs = raw.end_ns
        slot = raw.slot
        flags = raw.flags
        gpa = raw.gpa
        size = raw.size
        userspaceAddress = raw.userspace_addr
        guestMemfd = raw.guest_memfd
        guestMemfdOffset = raw.guest_memfd_offset
        length = raw.length
        isWrite = raw.is_write != 0
        droppedExits = raw.dropped_exits
        sequence = raw.sequence
    }
}
