/// The shortest edit script between two sequences (Myers' O((N+M)·D) greedy
/// algorithm, after trimming the common prefix and suffix): which elements the
/// two share, in order, and which are only in one. Past `maxEdits` differences
/// the middle is aligned by position instead, so two unrelated histories cost
/// linear time, not quadratic — said in `exact`.
public struct EditScript: Sendable {
    public enum Step: Hashable, Sendable {
        /// Element `a` of the first sequence equals element `b` of the second.
        case same(a: Int, b: Int)
        /// Only in the first sequence.
        case removed(a: Int)
        /// Only in the second.
        case inserted(b: Int)
    }

    /// Elements equal at the start and at the end of both sequences (never held as steps:
    /// two long, nearly equal histories cost memory for their middle only).
    public var prefix: Int
    public var suffix: Int
    /// The steps between them, indices counted from the start of each sequence.
    public var middle: [Step]
    /// Whether the script is a shortest one (false: the middle was aligned by position).
    public var exact: Bool
    private let countA: Int
    private let countB: Int

    /// Every step, in order.
    public var steps: [Step] {
        var steps: [Step] = []
        forEachStep { steps.append($0) }
        return steps
    }

    /// Calls `body` with every step in order, without holding them.
    public func forEachStep<E: Error>(_ body: (Step) throws(E) -> Void) throws(E) {
        for i in 0..<prefix { try body(.same(a: i, b: i)) }
        for step in middle { try body(step) }
        for i in 0..<suffix { try body(.same(a: countA - suffix + i, b: countB - suffix + i)) }
    }

    public init<Key: Equatable>(_ a: [Key], _ b: [Key], maxEdits: Int = 2_000) {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
            suffix += 1
        }
        self.prefix = prefix
        self.suffix = suffix
        countA = a.count
        countB = b.count
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])
        if let shortest = Self.shortest(middleA, middleB, maxEdits: maxEdits) {
            exact = true
            middle = shortest.map { $0.shifted(a: prefix, b: prefix) }
        } else {
            exact = false
            middle = Self.byPosition(middleA, middleB).map { $0.shifted(a: prefix, b: prefix) }
        }
    }

    /// Myers: for each number of edits d, the furthest-reaching path on each
    /// diagonal k = x − y; the path is rebuilt from the saved frontiers (diagonals
    /// −d…d of each, so D² integers in all).
    private static func shortest<Key: Equatable>(_ a: [Key], _ b: [Key], maxEdits: Int) -> [Step]? {
        let n = a.count, m = b.count
        guard n > 0 || m > 0 else { return [] }
        let limit = min(n + m, maxEdits)
        let offset = limit + 1
        var frontier = [Int](repeating: 0, count: 2 * limit + 3)
        var history: [[Int]] = []
        for d in 0...limit {
            history.append(Array(frontier[(offset - d)...(offset + d)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x = k == -d || (k != d && frontier[offset + k - 1] < frontier[offset + k + 1])
                    ? frontier[offset + k + 1] : frontier[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                frontier[offset + k] = x
                if x >= n && y >= m { return backtrack(history: history, d: d, n: n, m: m) }
            }
        }
        return nil
    }

    private static func backtrack(history: [[Int]], d: Int, n: Int, m: Int) -> [Step] {
        var steps: [Step] = []
        var x = n, y = m
        for d in stride(from: d, to: 0, by: -1) {
            // The frontier after d − 1 edits, indexed from diagonal −d.
            let frontier = history[d]
            let k = x - y
            let down = k == -d || (k != d && frontier[k - 1 + d] < frontier[k + 1 + d])
            let previousK = down ? k + 1 : k - 1
            let previousX = frontier[previousK + d]
            let previousY = previousX - previousK
            while x > previousX && y > previousY {
                x -= 1
                y -= 1
                steps.append(.same(a: x, b: y))
            }
            if down { y -= 1; steps.append(.inserted(b: y)) } else { x -= 1; steps.append(.removed(a: x)) }
        }
        while x > 0 && y > 0 {
            x -= 1
            y -= 1
            steps.append(.same(a: x, b: y))
        }
        return steps.reversed()
    }

    /// Pairs by position: equal elements are the same, the rest removed then inserted.
    private static func byPosition<Key: Equatable>(_ a: [Key], _ b: [Key]) -> [Step] {
        var steps: [Step] = []
        for index in 0..<max(a.count, b.count) {
            if index < a.count, index < b.count, a[index] == b[index] {
                steps.append(.same(a: index, b: index))
                continue
            }
            if index < a.count { steps.append(.removed(a: index)) }
            if index < b.count { steps.append(.inserted(b: index)) }
        }
        return steps
    }
}

extension EditScript.Step {
    func shifted(a da: Int, b db: Int) -> Self {
        switch self {
        case .same(let a, let b): .same(a: a + da, b: b + db)
        case .removed(let a): .removed(a: a + da)
        case .inserted(let b): .inserted(b: b + db)
        }
    }
}
