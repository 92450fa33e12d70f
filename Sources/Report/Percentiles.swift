import Histogram
import JSON

/// p50, p90, p99 and the maximum of a set of durations (nanoseconds), read off
/// an HdrHistogram (three significant digits) in memory that does not grow with
/// the number of values.
public struct Percentiles: Sendable {
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64

    /// Nil for no values.
    public init?(_ values: some Sequence<UInt64>) {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
        var any = false
        for value in values {
            _ = histogram.record(Swift.max(value, 1))
            any = true
        }
        guard any else { return nil }
        p50 = histogram.valueAtPercentile(50)
        p90 = histogram.valueAtPercentile(90)
        p99 = histogram.valueAtPercentile(99)
        max = histogram.max
    }

    public var json: JSONValue { .orderedObject([("p50", .int(p50)), ("p90", .int(p90)), ("p99", .int(p99)), ("max", .int(max))]) }
}
