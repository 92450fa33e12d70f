/// A small, fast, seedable generator (SplitMix64): the same seed gives the same
/// sequence on every machine, which deterministic stepping and scenarios rely on.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Memslot.mix(state &- 0x9e37_79b9_7f4a_7c15)
    }
}
