import Testing
@testable import MemoryModel

@Suite struct GuestRangeTests {
    @Test func rejectsEmptyAndWrappingRanges() {
        #expect(throws: GuestRange.Failure.empty(start: 0x1000)) { try GuestRange(start: 0x1000, size: 0) }
        #expect(throws: GuestRange.Failure.overflow(start: .max, size: 2)) { try GuestRange(start: .max, size: 2) }
        #expect(throws: GuestRange.Failure.inverted(start: 5, last: 4)) { try GuestRange(start: 5, last: 4) }
    }

    @Test func topOfAddressSpaceIsRepresentable() throws {
        let top = try GuestRange(start: .max - 0xfff, size: 0x1000)
        #expect(top.last == .max)
        #expect(top.end == nil)
        #expect(top.size == 0x1000)
        let whole = try GuestRange(start: 0, last: .max)
        #expect(whole.size == nil)
    }

    @Test func overlapAndIntersection() throws {
        let a = try GuestRange(start: 0x1000, size: 0x2000)
        let b = try GuestRange(start: 0x2fff, size: 0x10)
        let c = try GuestRange(start: 0x3000, size: 0x10)
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!a.overlaps(c) && !c.overlaps(a))
        #expect(a.intersection(b) == (try GuestRange(start: 0x2fff, size: 1)))
        #expect(a.intersection(c) == nil)
        #expect(a.isImmediatelyFollowed(by: c))
        #expect(throws: GuestRange.Failure.overflow(start: .max, size: 0x1000)) { try GuestRange(start: .max, size: 0x1000) }
    }
}
