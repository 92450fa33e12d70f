/// Zeller and Hildebrandt's ddmin: from a sequence that shows a failure, a
/// subsequence that still shows it and loses it when any one element is removed
/// (1-minimal). Deterministic: the same input and test give the same result.
public enum DeltaDebugging {
    /// The 1-minimal subsequence of `items` for which `holds` is true; `holds(items)`
    /// is assumed. `holds` is called once per candidate, in a fixed order.
    public static func minimize<Items: Reducible>(_ items: Items, holds: (Items) throws -> Bool) rethrows -> Items {
        var current = items
        var granularity = 2
        while current.count >= 2 {
            // Chunks as ranges, each made into a candidate only when tried: the
            // input and one candidate are held, never all the chunks at once.
            let chunks = split(current.count, into: granularity)
            var reduced = false
            // A chunk alone, then everything but one chunk.
            for chunk in chunks {
                let candidate = current.keeping(chunk)
                guard try holds(candidate) else { continue }
                current = candidate
                granularity = 2
                reduced = true
                break
            }
            if !reduced && chunks.count > 2 {
                for chunk in chunks {
                    let complement = current.removing(chunk)
                    if try holds(complement) {
                        current = complement
                        granularity = max(granularity - 1, 2)
                        reduced = true
                        break
                    }
                }
            }
            guard !reduced else { continue }
            // Single elements were tried (alone and removed): 1-minimal.
            if granularity >= current.count { break }
            granularity = min(granularity * 2, current.count)
        }
        if current.count == 1 {
            let none = current.keeping(0..<0)
            if try holds(none) { return none }
        }
        return current
    }

    /// `0..<count` cut into `parts` contiguous, non-empty ranges of near-equal size, in order.
    static func split(_ count: Int, into parts: Int) -> [Range<Int>] {
        let size = count / parts, extra = count % parts
        var chunks: [Range<Int>] = []
        var start = 0
        for index in 0..<parts {
            let end = start + size + (index < extra ? 1 : 0)
            if end > start { chunks.append(start..<end) }
            start = end
        }
        return chunks
    }
}

/// What ddmin reduces: a sequence it can take one contiguous part of, or leave
/// one out of, by position.
public protocol Reducible {
    var count: Int { get }
    /// The elements at `range`.
    func keeping(_ range: Range<Int>) -> Self
    /// Every element but those at `range`.
    func removing(_ range: Range<Int>) -> Self
}

extension Array: Reducible {
    public func keeping(_ range: Range<Int>) -> [Element] { Array(self[range]) }

    public func removing(_ range: Range<Int>) -> [Element] {
        var rest: [Element] = []
        rest.reserveCapacity(count - range.count)
        rest += self[..<range.lowerBound]
        rest += self[range.upperBound...]
        return rest
    }
}

extension CandidateList: Reducible {}
