import Testing
@testable import Reduction
import Memslots

/// ddmin against brute force: the result still holds, and removing any one of
/// its elements does not.
struct DeltaDebuggingTests {
    /// Predicates of several shapes over 0..<n, from a seed: "contains these",
    /// "sum ≡ r mod m", "at least k of these".
    static func predicate(seed: UInt64, n: Int) -> ([Int]) -> Bool {
        var rng = SeededRandom(seed: seed)
        let needed = Set((0..<(1 + Int(rng.next() % 3))).map { _ in Int(rng.next() % UInt64(n)) })
        switch seed % 3 {
        case 0: return { Set($0).isSuperset(of: needed) }
        case 1:
            let m = 2 + Int(rng.next() % 5)
            return { !$0.isEmpty && $0.reduce(0, +) % m == 0 && $0.contains(needed.first!) }
        default:
            let pool = Set((0..<6).map { _ in Int(rng.next() % UInt64(n)) })
            return { Set($0).intersection(pool).count >= min(2, pool.count) }
        }
    }

    @Test(arguments: 0..<60 as Range<UInt64>)
    func resultHoldsAndIsOneMinimal(seed: UInt64) {
        let n = 5 + Int(seed * 7 % 60)
        let holds = Self.predicate(seed: seed, n: n)
        let input = Array(0..<n)
        guard holds(input) else { return }
        var calls = 0
        let result = DeltaDebugging.minimize(input) { calls += 1; return holds($0) }
        #expect(holds(result))
        #expect(result == result.sorted() && Set(result).isSubset(of: Set(input)), "a subsequence of the input")
        for index in result.indices {
            var smaller = result
            smaller.remove(at: index)
            #expect(!holds(smaller), "removing \(result[index]) from \(result) keeps the failure: not 1-minimal")
        }
        // Deterministic: the same calls, the same result.
        var again = 0
        #expect(DeltaDebugging.minimize(input) { again += 1; return holds($0) } == result)
        #expect(again == calls)
    }

    @Test func aPairFarApartIsFoundInFewTests() {
        var calls = 0
        let result = DeltaDebugging.minimize(Array(0..<10_000)) { calls += 1; return $0.contains(17) && $0.contains(9_000) }
        #expect(result == [17, 9_000])
        #expect(calls < 200, "\(calls) tests for two elements of 10,000")
    }
}
