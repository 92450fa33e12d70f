import Sync
import Foundation
import JSON
import Memslots
import Scenarios
import Harness
import Analysis
import Report

/// What a run amounted to: counts and inhibit percentiles, printable as text or JSON.
struct RunSummary {
    var scenario: String
    var backend: String
    var vcpus: Int
    var inhibit: Bool
    var wait: String
    var transactions: Int
    var overlapping: Int
    var inhibited: Int
    var slotOperations: Int
    var failedOperations: Int
    var spuriousFaults: Int
    var vcpuAccesses: Int
    var inhibitNs: Percentiles?
    var drainNs: Percentiles?
    var applyNs: Percentiles?
    var slotOperationNs: Percentiles?
    var elapsedMs: Double
    /// The first failed slot operation, described, if any failed.
    var firstFailure: String?

    init(configuration: RunConfiguration, scenario: String, tally: RunTally, statistics: VCPUStatistics,
         elapsedNs: UInt64) {
        self.scenario = scenario
        backend = configuration.backend.rawValue
        vcpus = configuration.vcpus
        inhibit = configuration.inhibit
        wait = configuration.wait.rawValue
        let counted = tally.counted
        transactions = counted.transactions
        overlapping = counted.overlapping
        inhibited = counted.inhibited
        slotOperations = counted.slotOperations
        failedOperations = counted.failedOperations
        spuriousFaults = statistics.spuriousFaults
        vcpuAccesses = statistics.accesses
        inhibitNs = counted.inhibitNs.percentiles
        drainNs = counted.drainNs.percentiles
        applyNs = counted.applyNs.percentiles
        slotOperationNs = counted.slotOperationNs.percentiles
        elapsedMs = Double(elapsedNs) / 1e6
        firstFailure = counted.firstFailure
    }

    var text: String {
        var lines = [
            "scenario \(scenario) on \(backend), \(vcpus) vCPU(s), inhibit \(inhibit ? "on (\(wait) wait)" : "OFF")",
            "  transactions      \(transactions) (\(overlapping) overlapping, \(inhibited) inhibited)",
            "  slot operations   \(slotOperations) (\(failedOperations) failed)",
            "  spurious faults   \(spuriousFaults) in \(vcpuAccesses) vCPU accesses",
        ]
        if let inhibitNs { lines.append("  inhibit           \(inhibitNs.text)") }
        if let drainNs { lines.append("  drain             \(drainNs.text)") }
        if let applyNs { lines.append("  apply             \(applyNs.text)") }
        if let slotOperationNs { lines.append("  slot operation    \(slotOperationNs.text)") }
        if let firstFailure { lines.append("  first failure     \(firstFailure)") }
        lines.append(String(format: "  elapsed           %.1f ms", elapsedMs))
        return lines.joined(separator: "\n")
    }

    /// One line, keys sorted, so it diffs and parses stably (absent values are null).
    var json: JSONValue {
        .sortedObject([
            ("scenario", .string(scenario)), ("backend", .string(backend)), ("vcpus", .int(vcpus)),
            ("inhibit", .bool(inhibit)), ("wait", .string(wait)), ("transactions", .int(transactions)),
            ("overlapping", .int(overlapping)), ("inhibited", .int(inhibited)),
            ("slotOperations", .int(slotOperations)), ("failedOperations", .int(failedOperations)),
            ("spuriousFaults", .int(spuriousFaults)), ("vcpuAccesses", .int(vcpuAccesses)),
            ("inhibitNs", .optional(inhibitNs, \.json)), ("drainNs", .optional(drainNs, \.json)),
            ("applyNs", .optional(applyNs, \.json)), ("slotOperationNs", .optional(slotOperationNs, \.json)),
            ("elapsedMs", .decimal(elapsedMs)), ("firstFailure", .optional(firstFailure, JSONValue.string)),
        ])
    }

}

func micros(_ ns: UInt64) -> String { TransactionDescription.micros(ns) }

extension Percentiles {
    var text: String { "p50 \(micros(p50))  p90 \(micros(p90))  p99 \(micros(p99))  max \(micros(max))" }
}

/// Counts what a run's transactions amount to as they commit (on the committing
/// thread), and passes each on: a summary of a run of any length, in memory that
/// does not grow with it.
final class RunTally: TransactionObserver {
    struct Counted: Sendable {
        var transactions = 0
        var overlapping = 0
        var inhibited = 0
        var slotOperations = 0
        var failedOperations = 0
        var inhibitNs = DurationHistogram()
        var drainNs = DurationHistogram()
        var applyNs = DurationHistogram()
        var slotOperationNs = DurationHistogram()
        var firstFailure: String?
    }

    /// Written by the committing thread, read once the run is over; the lock
    /// keeps each update whole.
    private let state = PlainLocked(Counted())
    private let next: (any TransactionObserver)?

    init(forwardingTo next: (any TransactionObserver)?) { self.next = next }

    var counted: Counted { state.withLock { $0 } }

    func transactionCommitted(_ record: TransactionRecord) {
        state.withLock { c in
            c.transactions += 1
            if record.decision.overlaps { c.overlapping += 1 }
            if record.timing.inhibited {
                c.inhibited += 1
                c.inhibitNs.record(record.timing.inhibitNs)
                c.drainNs.record(record.timing.drainNs)
            }
            c.applyNs.record(record.timing.applyNs)
            c.slotOperations += record.slotOps.count
            for op in record.slotOps { c.slotOperationNs.record(op.durationNs) }
            c.failedOperations += record.failedOps.count
            if c.firstFailure == nil, let failed = record.failedOps.first {
                c.firstFailure = "transaction \(record.sequence): \(failed)"
            }
        }
        next?.transactionCommitted(record)
    }

    func spuriousFault(_ fault: SpuriousFault) { next?.spuriousFault(fault) }

    func drainTimedOut(sequence: UInt64, _ timeout: DrainTimeout) { next?.drainTimedOut(sequence: sequence, timeout) }
}
