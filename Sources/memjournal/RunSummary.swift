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

    init(configuration: RunConfiguration, scenario: String, records: [TransactionRecord], statistics: VCPUStatistics,
         elapsedNs: UInt64) {
        self.scenario = scenario
        backend = configuration.backend.rawValue
        vcpus = configuration.vcpus
        inhibit = configuration.inhibit
        wait = configuration.wait.rawValue
        transactions = records.count
        overlapping = records.count { $0.decision.overlaps }
        let inhibitedRecords = records.filter(\.timing.inhibited)
        inhibited = inhibitedRecords.count
        slotOperations = records.reduce(0) { $0 + $1.slotOps.count }
        failedOperations = records.reduce(0) { $0 + $1.failedOps.count }
        spuriousFaults = statistics.spuriousFaults
        vcpuAccesses = statistics.accesses
        inhibitNs = Percentiles(inhibitedRecords.map(\.timing.inhibitNs))
        drainNs = Percentiles(inhibitedRecords.map(\.timing.drainNs))
        applyNs = Percentiles(records.map(\.timing.applyNs))
        slotOperationNs = Percentiles(records.flatMap { $0.slotOps.map(\.durationNs) })
        elapsedMs = Double(elapsedNs) / 1e6
        firstFailure = records.lazy.compactMap { r in r.failedOps.first.map { "transaction \(r.sequence): \($0)" } }.first
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
