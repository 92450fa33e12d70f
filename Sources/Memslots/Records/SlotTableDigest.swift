/// A digest of a slot table: the number of slots and an order-independent hash of
/// their contents (sum of per-slot hashes), so it can be kept up to date in O(1)
/// per operation and is identical for equal tables in any process.
public struct SlotTableDigest: Hashable, Sendable, CustomStringConvertible {
    public var count: Int
    public var hash: UInt64

    public init(count: Int = 0, hash: UInt64 = 0) {
        self.count = count
        self.hash = hash
    }

    public mutating func insert(_ slot: Memslot) {
        count += 1
        hash &+= slot.contentHash
    }

    public mutating func remove(_ slot: Memslot) {
        count -= 1
        hash &-= slot.contentHash
    }

    public var description: String {
        "\(count) slots/" + String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
