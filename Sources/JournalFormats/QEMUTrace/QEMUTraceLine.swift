/// One `kvm_set_user_memory` trace event of QEMU: a `KVM_SET_USER_MEMORY_REGION`
/// call and its result.
///
/// Accepted shapes (extra `key=value` fields of newer QEMUs are accepted and ignored):
///
///     kvm_set_user_memory Slot#4 flags=0x0 gpa=0x100000 size=0xff00000 ua=0x7f...000 ret=0
///     1234@1700000000.123456:kvm_set_user_memory Slot#4 flags=0x0 gpa=… size=… ua=… ret=0
///     kvm_set_user_memory AddrSpace#0 Slot#4 flags=0x0 gpa=… size=… ua=… guest_memfd=-1 guest_memfd_offset=0x0 ret=0
///
/// Before QEMU 8.1 the address space travels in bits 16 and up of the slot
/// number; later versions print it as `AddrSpace#N` and the slot alone.
public struct QEMUTraceLine: Hashable, Sendable {
    /// 1-based line number in the log.
    public var line: Int
    /// Microseconds since the epoch, when `-msg timestamp=on` prefixed the line.
    public var timeMicros: UInt64?
    /// Slot index | address space << 16, as KVM takes it.
    public var slot: UInt32
    public var flags: UInt32
    public var gpa: UInt64
    /// 0 deletes the slot.
    public var size: UInt64
    /// Host virtual address of the slot's memory in QEMU.
    public var userspaceAddress: UInt64
    /// The ioctl's result: 0, or -errno.
    public var ret: Int32

    static let event = "kvm_set_user_memory"

    /// Why a trace line could not be read.
    public struct Failure: Error, Equatable, Sendable {
        public var detail: String
    }

    /// Parses `text` if it is a `kvm_set_user_memory` event; nil for any other line.
    public static func parse(_ text: Substring, line: Int) throws(Failure) -> QEMUTraceLine? {
        guard let eventRange = text.range(of: event) else { return nil }
        var time: UInt64?
        let prefix = text[..<eventRange.lowerBound]
        if !prefix.isEmpty {
            // `pid@seconds.micros:` — anything else before the event name is not ours.
            guard prefix.hasSuffix(":"), let at = prefix.firstIndex(of: "@") else {
                throw Failure(detail: "unexpected text before \(event): '\(prefix.prefix(40))'")
            }
            let stamp = prefix[prefix.index(after: at)..<prefix.index(before: prefix.endIndex)]
            let parts = stamp.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let seconds = UInt64(parts[0]), parts[1].count <= 6, let micros = UInt64(parts[1]),
                  seconds < UInt64.max / 1_000_000 / 1000
            else { throw Failure(detail: "bad timestamp '\(stamp)' (expected seconds.micros)") }
            time = seconds * 1_000_000 + micros * UInt64(pow10(6 - parts[1].count))
        }
        var slot: UInt32?, addressSpace: UInt32?
        var fields: [Substring: Substring] = [:]
        for token in text[eventRange.upperBound...].split(separator: " ") {
            if token.hasPrefix("Slot#") {
                guard let value = UInt32(token.dropFirst(5)) else { throw Failure(detail: "bad slot '\(token)'") }
                slot = value
            } else if token.hasPrefix("AddrSpace#") {
                guard let value = UInt32(token.dropFirst(10)), value < 1 << 16 else {
                    throw Failure(detail: "bad address space '\(token)'")
                }
                addressSpace = value
            } else if let equals = token.firstIndex(of: "=") {
                fields[token[..<equals]] = token[token.index(after: equals)...]
            } else {
                throw Failure(detail: "unexpected token '\(token.prefix(40))'")
            }
        }
        guard let slot else { throw Failure(detail: "missing Slot#N") }
        if let addressSpace, slot >= 1 << 16 {
            throw Failure(detail: "slot \(slot) does not fit 16 bits next to AddrSpace#\(addressSpace)")
        }
        func hex<T: FixedWidthInteger & UnsignedInteger>(_ key: Substring, as _: T.Type) throws(Failure) -> T {
            guard let text = fields[key] else { throw Failure(detail: "missing \(key)=") }
            guard text.hasPrefix("0x"), let value = T(text.dropFirst(2), radix: 16) else {
                throw Failure(detail: "\(key)=\(text.prefix(40)) is not a hexadecimal \(T.bitWidth)-bit value")
            }
            return value
        }
        guard let retText = fields["ret"], let ret = Int32(retText) else {
            throw Failure(detail: "missing or bad ret= (expected a decimal int)")
        }
        let parsed = QEMUTraceLine(
            line: line, timeMicros: time, slot: slot | ((addressSpace ?? 0) << 16),
            flags: try hex("flags", as: UInt32.self), gpa: try hex("gpa", as: UInt64.self),
            size: try hex("size", as: UInt64.self), userspaceAddress: try hex("ua", as: UInt64.self), ret: ret)
        guard parsed.size == 0 || parsed.gpa.addingReportingOverflow(parsed.size - 1).overflow == false
        else { throw Failure(detail: "gpa + size runs past 2^64") }
        // Host addresses are user-space addresses (below 2^63 on every Linux), so
        // later page rounding of ua + size cannot overflow.
        guard parsed.userspaceAddress < Self.userSpaceLimit, parsed.size <= Self.userSpaceLimit - parsed.userspaceAddress
        else { throw Failure(detail: "ua + size lies beyond the user address space") }
        return parsed
    }

    static let userSpaceLimit: UInt64 = 1 << 63

    private static func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}
