import Testing
@testable import Reduction
import Memslots

/// `CandidateList` against a plain array of the same transactions: every
/// operation ddmin and the passes use gives the same elements, and lists with
/// the same elements are equal (and hash alike) however they were made.
struct CandidateListTests {
    /// A transaction at `position`, edited (keeping part 0 of its parts) when `edited`.
    static func transaction(_ position: Int, edited: Bool) -> CandidateTransaction {
        let plain = CandidateTransaction(position: position)
        return edited ? plain.keeping([0], of: 3) : plain
    }

    @Test(arguments: 0..<40 as Range<UInt64>)
    func operationsMatchAnArray(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let n = 1 + Int(rng.next() % 300)
        var list = CandidateList(positions: 0..<n)
        var model = (0..<n).map { CandidateTransaction(position: $0) }
        for _ in 0..<30 where !model.isEmpty {
            let a = Int(rng.next() % UInt64(model.count + 1)), b = Int(rng.next() % UInt64(model.count + 1))
            let range = min(a, b)..<max(a, b)
            switch rng.next() % 4 {
            case 0:
                list = list.keeping(range)
                model = Array(model[range])
            case 1:
                list = list.removing(range)
                model.removeSubrange(range)
            case 2:
                // Replaced by edits of transactions in it, as the parts and merge passes do.
                let made = model[range].prefix(2).map { Self.transaction($0.position, edited: rng.next() % 2 == 0) }
                list = list.replacing(range, with: made)
                model.replaceSubrange(range, with: made)
            default:
                // An edited transaction put back as it was becomes part of a run again.
                guard let index = model.indices.randomElement(using: &rng) else { continue }
                let plain = CandidateTransaction(position: model[index].position)
                list = list.replacing(index..<index + 1, with: [plain])
                model[index] = plain
            }
            #expect(list.count == model.count)
            #expect(Array(list) == model, "iterated")
            #expect(list.indices.map { list[$0] } == model, "by index")
            // Made again from its elements: equal, and hashed alike.
            let rebuilt = CandidateList(model)
            #expect(rebuilt == list && rebuilt.hashValue == list.hashValue)
        }
    }

    @Test func aChunkAndItsComplementOfAMillionKeepTheirPositions() {
        let list = CandidateList(positions: 0..<1_000_000)
        let chunk = list.keeping(250_000..<500_000), complement = list.removing(250_000..<500_000)
        #expect(chunk == CandidateList(positions: 250_000..<500_000))
        #expect(complement.count == 750_000)
        #expect(complement[249_999].position == 249_999 && complement[250_000].position == 500_000)
        #expect(complement.keeping(0..<250_000) == list.keeping(0..<250_000))
        #expect(complement.keeping(250_000..<750_000) == list.keeping(500_000..<1_000_000))
        // Control: a list that lacks the chunk is not the whole.
        #expect(complement != list && chunk != list)
    }

    @Test func ddminOverAListFindsWhatItFindsOverAnArray() {
        let needed: Set = [17, 4_242, 9_000]
        let overArray = DeltaDebugging.minimize(Array(0..<10_000)) { needed.isSubset(of: $0) }
        let overList = DeltaDebugging.minimize(CandidateList(positions: 0..<10_000)) {
            needed.isSubset(of: $0.map(\.position))
        }
        #expect(overList.map(\.position) == overArray)
        #expect(overArray == needed.sorted())
    }
}
