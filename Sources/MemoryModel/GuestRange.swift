/// A non-empty range of guest-physical addresses, `[start, last]`.
///
/// Stored as the first and last address (like QEMU's `Range`) so that a range
/// ending at 2^64 - 1 is representable; every constructor checks its arithmetic,
/// so no range silently wraps around the top of the address space.
public struct GuestRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// First address in the range.
    public let start: UInt64
    /// Last address in the range (inclusive).
    public let last: UInt64

    /// Why a range could not be formed.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case empty(start: UInt64)
        case overflow(start: UInt64, size: UInt64)
        case inverted(start: UInt64, last: UInt64)

        public var description: String {
            switch self {
            case .empty(let start): "empty range at \(hex(start)): size must be at least 1"
            case .overflow(let start, let size):
                "range \(hex(start)) + \(hex(size)) runs past the top of the 64-bit address space"
            case .inverted(let start, let last): "range end \(hex(last)) lies below its start \(hex(start))"
            }
        }
    }

    /// A range of `size` bytes from `start`; fails on size 0 or on wrap-around past 2^64.
    public init(start: UInt64, size: UInt64) throws(Failure) {
        guard size > 0 else { throw .empty(start: start) }
        let (last, overflow) = start.addingReportingOverflow(size - 1)
        guard !overflow else { throw .overflow(start: start, size: size) }
        self.start = start
        self.last = last
    }

    /// The range `[start, last]`; fails when `last < start`.
    public init(start: UInt64, last: UInt64) throws(Failure) {
        guard last >= start else { throw .inverted(start: start, last: last) }
        self.start = start
        self.last = last
    }

    /// Size in bytes, or nil when the range covers the whole 2^64 space (size 2^64).
    public var size: UInt64? {
        let (size, overflow) = (last - start).addingReportingOverflow(1)
        return overflow ? nil : size
    }

    /// The address one past the end, or nil when the range ends at 2^64 - 1.
    public var end: UInt64? {
        let (end, overflow) = last.addingReportingOverflow(1)
        return overflow ? nil : end
    }

    public func contains(_ address: UInt64) -> Bool { address >= start && address <= last }

    public func contains(_ other: GuestRange) -> Bool { other.start >= start && other.last <= last }

    public func overlaps(_ other: GuestRange) -> Bool { start <= other.last && other.start <= last }

    /// The common part of two ranges, or nil when they are disjoint.
    public func intersection(_ other: GuestRange) -> GuestRange? {
        guard overlaps(other) else { return nil }
        return GuestRange(unchecked: max(start, other.start), last: min(last, other.last))
    }

    /// Whether `other` begins exactly one byte after this range ends.
    public func isImmediatelyFollowed(by other: GuestRange) -> Bool {
        end == other.start
    }

    /// Internal constructor for ranges whose bounds were already checked.
    init(unchecked start: UInt64, last: UInt64) {
        self.start = start
        self.last = last
    }

    public static func < (lhs: GuestRange, rhs: GuestRange) -> Bool {
        (lhs.start, lhs.last) < (rhs.start, rhs.last)
    }

    public var description: String { "[\(hex(start)), \(hex(last))]" }
}

/// `0x`-prefixed lower-case hexadecimal, the notation of every address we print.
public func hex<T: BinaryInteger>(_ value: T) -> String { "0x" + String(value, radix: 16) }
