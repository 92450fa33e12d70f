/// One line of `strace -f -ttt -e trace=ioctl -e kvm=vcpu` output, as far as
/// memjournal reads it: memory-region calls and the exits `KVM_RUN` returned
/// with (strace 6.1 decodes both; it shows no GPA for an exit).
///
///     16535 1796288016.553749 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=0, flags=0, guest_phys_addr=0, memory_size=67108864, userspace_addr=0x7f0ae3e00000}) = 0
///     16537 1796288016.691124 ioctl(9, KVM_SET_USER_MEMORY_REGION, {slot=5, …} <unfinished ...>
///     16537 1796288016.691300 <... ioctl resumed>) = 0
///     16538 1796288016.691247 <... ioctl resumed>, 0) = 0 (KVM_EXIT_MMIO)
///     16538 1796288019.157255 ioctl(12, KVM_RUN, 0) = 0 (KVM_EXIT_MMIO)
public struct StraceLine: Hashable, Sendable {
    public var pid: Int
    public var timeNs: UInt64
    public var event: Event

    public enum Event: Hashable, Sendable {
        /// A whole `KVM_SET_USER_MEMORY_REGION` call.
        case region(Region, result: Int32)
        /// Its first half (`<unfinished ...>`), joined later with its result.
        case regionStarted(Region)
        /// A `<... ioctl resumed>` line: the result of the call the pid started last
        /// (nil for `= ?`: the process ended inside the call).
        case resumed(result: Int32?, exit: String?)
        /// A `KVM_RUN` that returned, with the exit reason strace decoded.
        case run(result: Int32?, exit: String?)
        /// A `KVM_RUN` that has not returned yet (`<unfinished ...>`).
        case runStarted
        /// Any other line of the trace (another ioctl, a signal, an exit); an
        /// unfinished one is resumed later.
        case other(unfinished: Bool)
    }

    public struct Region: Hashable, Sendable {
        public var slot: UInt32
        public var flags: UInt32
        public var gpa: UInt64
        public var size: UInt64
        public var userspaceAddress: UInt64
    }

    public struct Failure: Error, Equatable, Sendable {
        public var detail: String
    }

    /// Parses `text`; blank lines are nil.
    public static func parse(_ text: Substring) throws(Failure) -> StraceLine? {
        let words = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard !words.isEmpty else { return nil }
        guard words.count == 3, let pid = Int(words[0]), pid > 0 else {
            throw Failure(detail: "not a line of strace -f -ttt (expected 'PID SECONDS.MICROS …'): '\(text.prefix(60))'")
        }
        let stamp = words[1].split(separator: ".", omittingEmptySubsequences: false)
        guard stamp.count == 2, stamp[1].count == 6, let seconds = UInt64(stamp[0]), let micros = UInt64(stamp[1]),
              seconds < UInt64.max / 1_000_000_000
        else { throw Failure(detail: "bad time '\(words[1].prefix(30))' (expected seconds.micros, from -ttt)") }
        let time = seconds * 1_000_000_000 + micros * 1000
        let rest = words[2]
        return StraceLine(pid: pid, timeNs: time, event: try event(rest))
    }

    private static func event(_ rest: Substring) throws(Failure) -> Event {
        if rest.hasPrefix("<... ioctl resumed>") {
            let (result, exit) = try outcome(rest)
            return .resumed(result: result, exit: exit)
        }
        guard rest.hasPrefix("ioctl(") else { return .other(unfinished: rest.hasSuffix("<unfinished ...>")) }
        if rest.contains("KVM_SET_USER_MEMORY_REGION,") {
            guard let open = rest.firstIndex(of: "{"), let close = rest.firstIndex(of: "}") , open < close else {
                throw Failure(detail: "a KVM_SET_USER_MEMORY_REGION call cut short (no {…} argument)")
            }
            let region = try self.region(rest[rest.index(after: open)..<close])
            let tail = rest[rest.index(after: close)...]
            if tail.hasPrefix(" <unfinished ...>") { return .regionStarted(region) }
            guard tail.hasPrefix(")"), let result = try outcome(tail).result else {
                throw Failure(detail: "a KVM_SET_USER_MEMORY_REGION call cut short after its argument")
            }
            return .region(region, result: result)
        }
        if rest.contains("KVM_RUN") {
            if rest.hasSuffix("<unfinished ...>") { return .runStarted }
            let (result, exit) = try outcome(rest)
            return .run(result: result, exit: exit)
        }
        return .other(unfinished: rest.hasSuffix("<unfinished ...>"))
    }

    /// `… = 0`, `… = -1 EINTR (Interrupted system call)`, `… = 0 (KVM_EXIT_MMIO)`.
    private static func outcome(_ text: Substring) throws(Failure) -> (result: Int32?, exit: String?) {
        guard let equals = text.range(of: ") = ", options: .backwards) else {
            throw Failure(detail: "a call cut short (no ') = RESULT')")
        }
        let after = text[equals.upperBound...].split(separator: " ")
        // `= ?`: the process ended inside the call; its result is unknown.
        if after.first == "?" { return (nil, nil) }
        guard let first = after.first, let value = Int32(first) else { throw Failure(detail: "bad result '\(text[equals.upperBound...].prefix(30))'") }
        if value < 0 {
            guard after.count >= 2, let errno = Self.errnos[String(after[1])] else {
                throw Failure(detail: "a failed call without a known errno name: '\(text[equals.upperBound...].prefix(40))'")
            }
            return (-errno, nil)
        }
        let exit = after.count >= 2 && after[1].hasPrefix("(KVM_EXIT_") ? String(after[1].dropFirst().dropLast()) : nil
        return (value, exit)
    }

    private static func region(_ text: Substring) throws(Failure) -> Region {
        var fields: [Substring: Substring] = [:]
        for pair in text.split(separator: ",") {
            let trimmed = pair.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "=") else { throw Failure(detail: "bad field '\(trimmed.prefix(40))'") }
            fields[trimmed[..<equals]] = trimmed[trimmed.index(after: equals)...]
        }
        func number<T: FixedWidthInteger>(_ key: Substring, _: T.Type) throws(Failure) -> T {
            guard let text = fields[key] else { throw Failure(detail: "missing \(key)=") }
            let value = text.hasPrefix("0x") ? T(text.dropFirst(2), radix: 16) : T(text)
            guard let value else { throw Failure(detail: "\(key)=\(text.prefix(30)) is not a number") }
            return value
        }
        guard let flagText = fields["flags"] else { throw Failure(detail: "missing flags=") }
        var flags: UInt32 = 0
        for name in flagText.split(separator: "|") {
            switch name {
            case "KVM_MEM_LOG_DIRTY_PAGES": flags |= 1
            case "KVM_MEM_READONLY": flags |= 2
            case "KVM_MEM_GUEST_MEMFD": flags |= 4
            default:
                let value = name.hasPrefix("0x") ? UInt32(name.dropFirst(2), radix: 16) : UInt32(name)
                guard let value else { throw Failure(detail: "unknown flag '\(name.prefix(30))'") }
                flags |= value
            }
        }
        let region = Region(slot: try number("slot", UInt32.self), flags: flags, gpa: try number("guest_phys_addr", UInt64.self),
                            size: try number("memory_size", UInt64.self),
                            userspaceAddress: try number("userspace_addr", UInt64.self))
        guard region.size == 0 || !region.gpa.addingReportingOverflow(region.size - 1).overflow else {
            throw Failure(detail: "guest_phys_addr + memory_size runs past 2^64")
        }
        guard region.userspaceAddress < 1 << 63, region.size <= (1 << 63) - region.userspaceAddress else {
            throw Failure(detail: "userspace_addr + memory_size lies beyond the user address space")
        }
        return region
    }

    /// The errno names a memory-region call or KVM_RUN fails with.
    static let errnos: [String: Int32] = [
        "EPERM": 1, "ENOENT": 2, "EINTR": 4, "EIO": 5, "EBADF": 9, "EAGAIN": 11, "ENOMEM": 12, "EACCES": 13,
        "EFAULT": 14, "EBUSY": 16, "EEXIST": 17, "EINVAL": 22, "ENOSPC": 28, "ENOSYS": 38, "ENOTSUP": 95,
        "EOPNOTSUPP": 95, "EHWPOISON": 133,
    ]
}
