import Testing
import Memslots
@testable import Analysis

/// The edit script against a dynamic-programming LCS: a valid script whose
/// shared elements are as many as the longest common subsequence.
struct EditScriptTests {
    static func lcs(_ a: [Int], _ b: [Int]) -> Int {
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        return table[0][0]
    }

    /// Every element of both sides appears once, in order, and shared steps pair equal elements.
    static func expectValid(_ script: EditScript<[Int]>, _ a: [Int], _ b: [Int]) {
        var nextA = 0, nextB = 0
        for step in script.steps {
            switch step {
            case .same(let i, let j):
                #expect(i == nextA && j == nextB && a[i] == b[j])
                nextA += 1
                nextB += 1
            case .removed(let i):
                #expect(i == nextA)
                nextA += 1
            case .inserted(let j):
                #expect(j == nextB)
                nextB += 1
            }
        }
        #expect(nextA == a.count && nextB == b.count)
    }

    @Test(arguments: 0..<80 as Range<UInt64>)
    func aShortestScriptSharesTheLongestCommonSubsequence(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let alphabet = UInt64(2 + seed % 6)
        let a = (0..<Int(rng.next() % 40)).map { _ in Int(rng.next() % alphabet) }
        // b: a edited in a few places, or unrelated.
        var b = a
        for _ in 0..<Int(rng.next() % 8) {
            let position = b.isEmpty ? 0 : Int(rng.next() % UInt64(b.count))
            switch rng.next() % 3 {
            case 0: b.insert(Int(rng.next() % alphabet), at: position)
            case 1: if !b.isEmpty { b.remove(at: position) }
            default: if !b.isEmpty { b[position] = Int(rng.next() % alphabet) }
            }
        }
        if seed % 5 == 0 { b = (0..<Int(rng.next() % 40)).map { _ in Int(rng.next() % alphabet) } }
        let script = EditScript(a, b)
        #expect(script.exact)
        Self.expectValid(script, a, b)
        let shared = script.steps.filter { if case .same = $0 { true } else { false } }.count
        #expect(shared == Self.lcs(a, b), "a: \(a) b: \(b)")
    }

    /// Keys past the memory limit go to a scratch file and come back through a
    /// cache of three 4-key blocks (evicted all the time): the same keys, and the
    /// same script, as over arrays — shortest, and past the edit limit by position.
    @Test(arguments: 0..<24 as Range<UInt64>)
    func keysInAScratchFileGiveTheSameScript(seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        let a = (0..<Int(200 + rng.next() % 400)).map { _ in Int(rng.next() % 4) }
        var b = a
        for _ in 0..<Int(2 + rng.next() % 30) {
            let position = Int(rng.next() % UInt64(b.count))
            switch rng.next() % 3 {
            case 0: b.insert(Int(rng.next() % 4), at: position)
            case 1: b.remove(at: position)
            default: b[position] = Int(rng.next() % 4)
            }
        }
        func spilled(_ keys: [Int]) -> AlignmentKeys {
            let column = AlignmentKeys(memoryLimit: 16, blockKeys: 4, cachedBlocks: 3)
            keys.forEach(column.append)
            column.finish()
            return column
        }
        let fileA = spilled(a), fileB = spilled(b)
        #expect(fileA.spilled && fileB.spilled)
        #expect(Array(fileA) == a && Array(fileB) == b)
        let maxEdits = seed % 4 == 0 ? 3 : 2_000
        let script = EditScript(fileA, fileB, maxEdits: maxEdits), reference = EditScript(a, b, maxEdits: maxEdits)
        #expect(script.exact == reference.exact)
        #expect(script.steps == reference.steps)
        #expect(fileA.failure == nil && fileB.failure == nil)
    }

    @Test func pastTheEditLimitTheMiddleIsAlignedByPosition() {
        let a = Array(0..<300), b = Array((0..<300).map { $0 % 7 == 0 ? $0 : $0 + 1_000 })
        let script = EditScript(a, b, maxEdits: 10)
        #expect(!script.exact)
        Self.expectValid(script, a, b)
        // Control: with room for every edit it is exact and shares the 43 multiples of 7.
        let exact = EditScript(a, b)
        #expect(exact.exact)
        #expect(exact.steps.filter { if case .same = $0 { true } else { false } }.count == Self.lcs(a, b))
    }
}
