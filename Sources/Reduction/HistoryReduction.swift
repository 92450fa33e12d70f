import JournalStore
import Memslots

/// Delta debugging over a history, down to a 1-minimal history that still shows
/// a failure: whole transactions first, then the parts (sections or calls) of
/// each, then merges of adjacent transactions, repeated until a whole round
/// changes nothing — so the last transaction pass saw the result and removing any
/// one of its transactions loses the failure. Every candidate is re-derived
/// (`CandidateHistory`); the same input and test give the same result.
public final class HistoryReduction {
    /// One pass and what it achieved.
    public struct Step: Sendable {
        public var phase: Phase
        public var before: Int
        public var after: Int
        /// Candidates evaluated in this pass (repeats answered from memory not counted).
        public var candidates: Int
    }

    public enum Phase: String, Sendable {
        case transactions, parts, merges
    }

    public struct Outcome {
        /// The reduced history, derived as it is walked (written, or counted).
        public var history: WalkedHistory
        public var transactions: CandidateList
        public var steps: [Step]
        /// Candidates evaluated in all (each one a re-derivation and a test).
        public var evaluations: Int
    }

    /// Why a reduction could not run.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let history: CandidateHistory
    private let test: FailureTest
    private let progress: (Phase, Int, Int) -> Void
    private var evaluations = 0
    /// What each candidate evaluated gave, by a 16-byte key rather than the
    /// candidate itself (a reduction evaluates hundreds of candidates of up to
    /// the whole history each).
    private var remembered: [CandidateKey: Bool] = [:]

    /// `progress` hears the phase, the candidates evaluated so far and the current size.
    public init(_ history: CandidateHistory, keeping test: FailureTest,
                progress: @escaping (Phase, Int, Int) -> Void = { _, _, _ in }) {
        self.history = history
        self.test = test
        self.progress = progress
    }

    /// Whether `candidate` still shows the failure (remembered; `progress` hears of it).
    private func holds(_ candidate: CandidateList, _ phase: Phase? = nil, size: Int = 0) throws -> Bool {
        if let phase { progress(phase, evaluations, size) }
        let key = CandidateKey(candidate)
        if let known = remembered[key] { return known }
        evaluations += 1
        let result = candidate.isEmpty ? false : try test.holds(history.history(candidate))
        remembered[key] = result
        return result
    }

    /// Reduces the history.
    public func run() throws -> Outcome {
        var current = history.transactions
        guard try holds(current) else {
            throw Failure(description: "the failure is lost when the input's transactions are re-derived "
                + "(\(history.derivation.rawValue) derivation); try --derive \(history.derivation == .listener ? "ioctls" : "listener")")
        }
        var steps: [Step] = []
        while true {
            let start = current
            steps.append(try pass(.transactions, &current) { current in
                try DeltaDebugging.minimize(current) { try self.holds($0, .transactions, size: $0.count) }
            })
            steps.append(try pass(.parts, &current) { current in
                var current = current
                for index in current.indices {
                    let transaction = current[index], total = try history.read(transaction).total
                    let keptParts = transaction.kept ?? Array(0..<total)
                    guard keptParts.count > 1 else { continue }
                    let kept = try DeltaDebugging.minimize(keptParts) { parts in
                        let candidate = current.replacing(index..<index + 1, with: [transaction.keeping(parts, of: total)])
                        return try self.holds(candidate, .parts, size: current.count)
                    }
                    current = current.replacing(index..<index + 1, with: [transaction.keeping(kept, of: total)])
                }
                return current
            })
            steps.append(try pass(.merges, &current) { current in
                var current = current
                var index = 0
                while index + 1 < current.count {
                    if let merged = try merge(current[index], current[index + 1]) {
                        let candidate = current.replacing(index..<index + 2, with: [merged])
                        if try holds(candidate, .merges, size: current.count) {
                            current = candidate
                            continue
                        }
                    }
                    index += 1
                }
                return current
            })
            if current == start { break }
        }
        return Outcome(history: history.history(current), transactions: current, steps: steps,
                       evaluations: evaluations)
    }

    /// Runs one pass over `current`, counting what it evaluated.
    private func pass(_ phase: Phase, _ current: inout CandidateList,
                      _ body: (CandidateList) throws -> CandidateList) throws -> Step {
        let evaluated = evaluations
        let size = { (list: CandidateList) throws(JournalError) in
            phase == .parts ? try self.history.keptParts(in: list) : list.count
        }
        let before = try size(current)
        current = try body(current)
        return Step(phase: phase, before: before, after: try size(current), candidates: evaluations - evaluated)
    }

    /// The two adjacent transactions as one, when a VMM could have issued them so:
    /// the same address space, neither carrying a recorded departure (its
    /// operations would move), and for ioctls every delete still before the adds.
    private func merge(_ a: CandidateTransaction, _ b: CandidateTransaction) throws -> CandidateTransaction? {
        guard !(a.origins + b.origins).contains(where: history.hasDeparture) else { return nil }
        let (readA, readB) = (try history.read(a), try history.read(b))
        guard readA.first.addressSpace == readB.first.addressSpace else { return nil }
        if history.derivation == .ioctls {
            let deletes = (readA.parts + readB.parts).map {
                if case .call(let c) = $0, case .delete = c.request { true } else { false }
            }
            guard !zip(deletes, deletes.dropFirst()).contains(where: { !$0 && $1 }) else { return nil }
        }
        return a.merged(with: b, totals: (readA.total, readB.total))
    }
}

/// A candidate as two keyed 64-bit hashes of it (SipHash with this process's
/// seed, the second salted): two different candidates share both with a
/// probability around 2⁻¹²⁸ each, far below anything a reduction's few
/// thousand evaluations could meet.
private struct CandidateKey: Hashable {
    let first: Int
    let second: Int

    init(_ candidate: CandidateList) {
        first = candidate.hashValue
        var hasher = Hasher()
        hasher.combine(0x6d65_6d6a_6f75_726e as UInt64)  // "memjourn": a salt
        hasher.combine(candidate)
        second = hasher.finalize()
    }
}
