/// The transactions of a candidate history, in order: runs of input
/// transactions kept as they are, held as ranges of their positions in the
/// input, and edited transactions (merged, or keeping fewer parts) one by one.
/// Its size is the number of runs and edits, not of transactions: the whole
/// input of a reduction is one run, a ddmin chunk one, its complement two.
public struct CandidateList: RandomAccessCollection, Hashable, Sendable {
    fileprivate enum Segment: Hashable, Sendable {
        /// Input transactions as they are, by position (never empty).
        case run(Range<Int>)
        /// One edited transaction (never an unedited one: that is a run of one).
        case edited(CandidateTransaction)

        var count: Int {
            switch self {
            case .run(let positions): positions.count
            case .edited: 1
            }
        }
    }

    /// Kept normalized — no empty run, no two runs that could be one, no
    /// unedited transaction outside a run — so that equal lists are equal values.
    private var segments: [Segment] = []
    /// How many transactions the segments up to and including each one hold.
    private var ends: [Int] = []

    /// The input transactions at `positions`, as they are.
    public init(positions: Range<Int>) {
        append(.run(positions))
    }

    /// `transactions`, in order.
    public init(_ transactions: some Sequence<CandidateTransaction>) {
        for transaction in transactions { append(transaction) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { ends.last ?? 0 }

    public subscript(index: Int) -> CandidateTransaction {
        precondition(index >= 0 && index < endIndex, "candidate index \(index) out of 0..<\(endIndex)")
        let segment = segmentIndex(holding: index)
        switch segments[segment] {
        case .run(let positions): return CandidateTransaction(position: positions.lowerBound + index - start(of: segment))
        case .edited(let transaction): return transaction
        }
    }

    /// The transactions at `range` of this list.
    public func keeping(_ range: Range<Int>) -> CandidateList {
        var result = CandidateList()
        result.append(self, range)
        return result
    }

    /// This list without the transactions at `range`.
    public func removing(_ range: Range<Int>) -> CandidateList {
        replacing(range, with: [])
    }

    /// This list with the transactions at `range` replaced by `transactions`.
    public func replacing(_ range: Range<Int>, with transactions: [CandidateTransaction]) -> CandidateList {
        var result = CandidateList()
        result.append(self, 0..<range.lowerBound)
        for transaction in transactions { result.append(transaction) }
        result.append(self, range.upperBound..<endIndex)
        return result
    }

    public func makeIterator() -> Iterator { Iterator(segments: segments) }

    /// The transactions in order, a run's made as they come.
    public struct Iterator: IteratorProtocol {
        fileprivate let segments: [Segment]
        private var segment = 0
        private var offset = 0

        fileprivate init(segments: [Segment]) { self.segments = segments }

        public mutating func next() -> CandidateTransaction? {
            guard segment < segments.count else { return nil }
            switch segments[segment] {
            case .edited(let transaction):
                segment += 1
                return transaction
            case .run(let positions):
                let position = positions.lowerBound + offset
                offset += 1
                if offset == positions.count { segment += 1; offset = 0 }
                return CandidateTransaction(position: position)
            }
        }
    }

    public static func == (a: CandidateList, b: CandidateList) -> Bool { a.segments == b.segments }
    public func hash(into hasher: inout Hasher) { hasher.combine(segments) }

    private init() {}

    private func start(of segment: Int) -> Int { segment == 0 ? 0 : ends[segment - 1] }

    /// The segment that holds transaction `index` (the first whose end is past it).
    private func segmentIndex(holding index: Int) -> Int {
        var low = 0, high = ends.count - 1
        while low < high {
            let middle = (low + high) / 2
            if ends[middle] > index { high = middle } else { low = middle + 1 }
        }
        return low
    }

    private mutating func append(_ transaction: CandidateTransaction) {
        append(transaction.isEdited ? .edited(transaction) : .run(transaction.position..<transaction.position + 1))
    }

    /// Appends `segment`, keeping the list normalized.
    private mutating func append(_ segment: Segment) {
        guard segment.count > 0 else { return }
        if case .run(let next) = segment, case .run(let last)? = segments.last, last.upperBound == next.lowerBound {
            segments[segments.count - 1] = .run(last.lowerBound..<next.upperBound)
            ends[ends.count - 1] += next.count
            return
        }
        segments.append(segment)
        ends.append(endIndex + segment.count)
    }

    /// Appends the transactions at `range` of `list`.
    private mutating func append(_ list: CandidateList, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        var segment = list.segmentIndex(holding: range.lowerBound)
        while segment < list.segments.count, list.start(of: segment) < range.upperBound {
            let start = list.start(of: segment)
            switch list.segments[segment] {
            case .edited: append(list.segments[segment])
            case .run(let positions):
                let from = Swift.max(range.lowerBound - start, 0), to = Swift.min(range.upperBound - start, positions.count)
                append(.run(positions.lowerBound + from..<positions.lowerBound + to))
            }
            segment += 1
        }
    }
}
