/// Zeller and Hildebrandt's ddmin: from a sequence that shows a failure, a
/// subsequence that still shows it and loses it when any one element is removed
/// (1-minimal). Deterministic: the same input and test give the same result.
public enum DeltaDebugging {
    /// The 1-minimal subsequence of `items` for which `holds` is true; `holds(items)`
    /// is assumed. `holds` is called once per candidate, in a fixed order.
    public static func minimize<Item>(_ items: [Item], holds: ([Item]) throws -> Bool) rethrows -> [Item] {
        var current = items
        var granularity = 2
        while current.count >= 2 {
            let chunks = split(current, into: granularity)
            var reduced = false
            // A chunk alone, then everything but one chunk.
            for chunk in chunks where try holds(chunk) {
                current = chunk
                granularity = 2
                reduced = true
                break
            }
            if !reduced && chunks.count > 2 {
                for index in chunks.indices {
                    let complement = chunks.indices.filter { $0 != index }.flatMap { chunks[$0] }
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
        if current.count == 1, try holds([]) { return [] }
        return current
    }

    /// `items` cut into `parts` contiguous chunks of near-equal size, in order.
    static func split<Item>(_ items: [Item], into parts: Int) -> [[Item]] {
        let size = items.count / parts, extra = items.count % parts
        var chunks: [[Item]] = []
        var start = 0
        for index in 0..<parts {
            let end = start + size + (index < extra ? 1 : 0)
            if end > start { chunks.append(Array(items[start..<end])) }
            start = end
        }
        return chunks
    }
}
