import MemoryModel
import Testing
@testable import memjournal

/// The command line's own parsers: `--gpa` ranges and `--min-inhibit` durations.
@Suite struct ParserTests {
    @Test(arguments: [
        ("0xc0000", 0xc0000, 0xc0000), ("4096", 4096, 4096),
        ("0xc0000-0xfffff", 0xc0000, 0xfffff), ("0x1000+0x2000", 0x1000, 0x2fff), ("10+6", 10, 15),
        ("0x0-0xffffffffffffffff", 0, UInt64.max),
    ] as [(String, UInt64, UInt64)])
    func rangesInEveryForm(_ text: String, _ start: UInt64, _ last: UInt64) throws {
        let range = try #require(parseRange(text), "\(text)")
        #expect(range.start == start && range.last == last)
    }

    @Test(arguments: ["", "0x", "xyz", "0xg", "5-3", "0x10+0", "0xffffffffffffffff+2", "1-", "-1", "+5", "0x1-0x2-0x3",
                      "18446744073709551616"])
    func malformedOrImpossibleRangesAreRefused(_ text: String) {
        #expect(parseRange(text) == nil, "\(text)")
    }

    @Test(arguments: [
        ("1500", 1500), ("1500ns", 1500), ("50us", 50_000), ("50µs", 50_000), ("2ms", 2_000_000), ("1s", 1_000_000_000),
    ] as [(String, UInt64)])
    func durationsInEveryUnit(_ text: String, _ nanoseconds: UInt64) {
        #expect(parseDuration(text) == nanoseconds, "\(text)")
    }

    @Test(arguments: ["", "ms", "1.5ms", "-3us", "3 ms", "5h", "99999999999999999999s", "18446744073709551615s"])
    func malformedOrOverflowingDurationsAreRefused(_ text: String) {
        #expect(parseDuration(text) == nil, "\(text)")
    }
}
