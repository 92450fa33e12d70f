/// One step of an edit script between two sequences.
public enum EditStep: Hashable, Sendable {
    /// Element `a` of the first sequence equals element `b` of the second.
    case same(a: Int, b: Int)
    /// Only in the first sequence.
    case removed(a: Int)
    /// Only in the second.
    case inserted(b: Int)
}

/// The shortest edit script between two sequences (Myers' O((N+M)·D) greedy
/// algorithm, after trimming the common prefix and suffix): which elements the
/// two share, in order, and which are only in one. Past `maxEdits` differences
/// the middle is aligned by position instead, so two unrelated histories cost
/// linear time, not quadratic — said in `exact`.
///
/// What it holds does not grow with the sequences: the edits of a shortest
/// script (at most `maxEdits`) and Myers' saved frontiers (at most `maxEdits`²
/// 32-bit positions); the equal runs between edits, and a positional middle,
/// are read off the two sequences as the steps are walked.
public struct EditScript<Keys: RandomAccessCollection> where Keys.Index == Int, Keys.Element: Equatable {
    public typealias Step = EditStep

    /// Elements equal at the start and at the end of both sequences.
    public let prefix: Int
    public let suffix: Int
    /// Whether the script is a shortest one (false: the middle was aligned by position).
    public let exact: Bool
    /// A shortest script's removals and insertions, in order (empty when not exact).
    private let edits: [Step]
    private let a: Keys
    private let b: Keys

    /// Every step, in order.
    public var steps: [Step] {
        var steps: [Step] = []
        forEachStep { steps.append($0) }
        return steps
    }

    public init(_ a: Keys, _ b: Keys, maxEdits: Int = 2_000) {
        self.a = a
        self.b = b
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
            suffix += 1
        }
        self.prefix = prefix
        self.suffix = suffix
        let shortest = Self.shortest(a, b, from: prefix, lengths: (a.count - prefix - suffix, b.count - prefix - suffix),
                                     maxEdits: maxEdits)
        exact = shortest != nil
        edits = shortest ?? []
    }

    /// Calls `body` with every step in order, without holding them.
    public func forEachStep<E: Error>(_ body: (Step) throws(E) -> Void) throws(E) {
        for i in 0..<prefix { try body(.same(a: i, b: i)) }
        let endA = a.count - suffix, endB = b.count - suffix
        if exact {
            var x = prefix, y = prefix
            for edit in edits {
                switch edit {
                case .removed(let i):
                    while x < i { try body(.same(a: x, b: y)); x += 1; y += 1 }
                    try body(edit)
                    x += 1
                case .inserted(let j):
                    while y < j { try body(.same(a: x, b: y)); x += 1; y += 1 }
                    try body(edit)
                    y += 1
                case .same: preconditionFailure("a script's edits are removals and insertions")
                }
            }
            while x < endA { try body(.same(a: x, b: y)); x += 1; y += 1 }
        } else {
            // By position: equal elements are the same, the rest removed then inserted.
            for i in prefix..<max(endA, endB) {
                if i < endA, i < endB, a[i] == b[i] {
                    try body(.same(a: i, b: i))
                    continue
                }
                if i < endA { try body(.removed(a: i)) }
                if i < endB { try body(.inserted(b: i)) }
            }
        }
        for i in 0..<suffix { try body(.same(a: endA + i, b: endB + i)) }
    }

    /// Myers over `a[from..<from+n]` and `b[from..<from+m]`: for each number of
    /// edits d, the furthest-reaching path on each diagonal k = x − y; the edits
    /// are rebuilt from the saved frontiers (diagonals −d…d of each, d² in all,
    /// in one flat array: the frontier saved at d starts at d²). Nil past `maxEdits`,
    /// or for a middle too long for 32-bit positions.
    private static func shortest(_ a: Keys, _ b: Keys, from: Int, lengths: (Int, Int), maxEdits: Int) -> [Step]? {
        let (n, m) = lengths
        guard n > 0 || m > 0 else { return [] }
        guard n < Int(Int32.max), m < Int(Int32.max) else { return nil }
        let limit = min(n + m, maxEdits)
        let offset = limit + 1
        var frontier = [Int](repeating: 0, count: 2 * limit + 3)
        var saved: [Int32] = []
        for d in 0...limit {
            saved.append(contentsOf: frontier[(offset - d)...(offset + d)].lazy.map { Int32($0) })
            for k in stride(from: -d, through: d, by: 2) {
                var x = k == -d || (k != d && frontier[offset + k - 1] < frontier[offset + k + 1])
                    ? frontier[offset + k + 1] : frontier[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[from + x] == b[from + y] {
                    x += 1
                    y += 1
                }
                frontier[offset + k] = x
                if x >= n && y >= m { return edits(saved: saved, d: d, n: n, m: m, from: from) }
            }
        }
        return nil
    }

    /// The removals and insertions of the path that reached (n, m) after d edits, in order.
    private static func edits(saved: [Int32], d: Int, n: Int, m: Int, from: Int) -> [Step] {
        var edits: [Step] = []
        var x = n, y = m
        for d in stride(from: d, to: 0, by: -1) {
            // The frontier after d − 1 edits, indexed from diagonal −d.
            func frontier(_ k: Int) -> Int { Int(saved[d * d + k + d]) }
            let k = x - y
            let down = k == -d || (k != d && frontier(k - 1) < frontier(k + 1))
            let previousK = down ? k + 1 : k - 1
            let previousX = frontier(previousK)
            let previousY = previousX - previousK
            let run = min(x - previousX, y - previousY)
            x -= run
            y -= run
            if down { y -= 1; edits.append(.inserted(b: from + y)) } else { x -= 1; edits.append(.removed(a: from + x)) }
        }
        return edits.reversed()
    }
}
