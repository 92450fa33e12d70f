import MemoryModel
import Testing
@testable import Memslots

@Suite struct OverlapDecisionTests {
    /// Sorted, disjoint random ranges, as a topology pass delivers them.
    func randomSortedRanges(_ rng: inout SeededRandom) -> [GuestRange] {
        var ranges: [GuestRange] = []
        var cursor = rng.next() % 64
        for _ in 0..<Int(rng.next() % 6) {
            let size = 1 + rng.next() % 32
            ranges.append(try! GuestRange(start: cursor, size: size))
            cursor += size + rng.next() % 16
        }
        return ranges
    }

    @Test func mergeWalkEqualsBruteForceOnRandomCases() {
        var rng = SeededRandom(seed: 42)
        var overlapping = 0
        for _ in 0..<20_000 {
            let deletes = randomSortedRanges(&rng)
            let adds = randomSortedRanges(&rng)
            let decision = OverlapDecision.decide(deletes: deletes, adds: adds)
            let bruteForce = deletes.contains { d in adds.contains { d.overlaps($0) } }
            #expect(decision.overlaps == bruteForce, "deletes \(deletes) adds \(adds)")
            if let pair = decision.pair {
                overlapping += 1
                // The remembered pair really is an overlapping pair of the inputs.
                #expect(deletes[pair.deleteIndex] == pair.deleted && adds[pair.addIndex] == pair.added)
                #expect(pair.deleted.overlaps(pair.added))
            }
        }
        // The generator must exercise both answers for the comparison to mean anything.
        #expect(overlapping > 1000 && overlapping < 19_000)
    }

    @Test func touchingRangesDoNotOverlap() throws {
        let decision = OverlapDecision.decide(
            deletes: [try GuestRange(start: 0, size: 0x1000)], adds: [try GuestRange(start: 0x1000, size: 0x1000)])
        #expect(!decision.overlaps)
    }
}
