import Histogram
import JSON
import JournalStore

/// p50, p90, p99 and the maximum of a set of durations (nanoseconds), read off
/// an HdrHistogram (three significant digits) in memory that does not grow with
/// the number of values.
public struct Percentiles: Sendable {
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64

    init(p50: UInt64, p90: UInt64, p99: UInt64, max: UInt64) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
    }

    public var json: JSONValue { .orderedObject([("p50", .int(p50)), ("p90", .int(p90)), ("p99", .int(p99)), ("max", .int(max))]) }
}

/// Durations (nanoseconds) counted one at a time into an HdrHistogram (three
/// significant digits, up to an hour): what `Percentiles` reads, for a history
/// walked once and never held.
public struct DurationHistogram: Sendable {
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    public private(set) var count = 0

    public init() {}

    public mutating func record(_ value: UInt64) {
        _ = histogram.record(Swift.min(Swift.max(value, 1), 3_600_000_000_000))
        count += 1
    }

    /// Nil before any value.
    public var percentiles: Percentiles? {
        guard count > 0 else { return nil }
        return Percentiles(
            p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
            p99: histogram.valueAtPercentile(99), max: histogram.max)
    }
}

extension Percentiles {
    /// Of the inhibited transactions' `inhibit_ns` in the journal `reader` reads
    /// (nil when none was inhibited), counted as they are read.
    public static func inhibitNs(of reader: JournalReader) throws(JournalError) -> Percentiles? {
        var histogram = DurationHistogram()
        try reader.forEachInhibitNs { histogram.record($0) }
        return histogram.percentiles
    }
}
