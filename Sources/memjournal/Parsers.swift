import MemoryModel

/// ADDR, START-LAST or START+SIZE (hex with 0x, or decimal).
func parseRange(_ text: String) -> GuestRange? {
    func number(_ s: Substring) -> UInt64? {
        let t = s.trimmingPrefix("0x")
        return t.count < s.count ? UInt64(t, radix: 16) : UInt64(s)
    }
    if let dash = text.firstIndex(of: "-") {
        guard let a = number(text[..<dash]), let b = number(text[text.index(after: dash)...]) else { return nil }
        return try? GuestRange(start: a, last: b)
    }
    if let plus = text.firstIndex(of: "+") {
        guard let a = number(text[..<plus]), let b = number(text[text.index(after: plus)...]) else { return nil }
        return try? GuestRange(start: a, size: b)
    }
    return number(Substring(text)).flatMap { try? GuestRange(start: $0, size: 1) }
}

/// 1500, 1500ns, 50us, 2ms, 1s → nanoseconds.
func parseDuration(_ text: String) -> UInt64? {
    for (suffix, scale) in [("ns", UInt64(1)), ("us", 1000), ("µs", 1000), ("ms", 1_000_000), ("s", 1_000_000_000)]
    where text.hasSuffix(suffix) {
        guard let value = UInt64(text.dropLast(suffix.count)) else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
    return UInt64(text)
}
