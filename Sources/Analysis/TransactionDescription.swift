import Foundation
import Memslots

/// A transaction in words, as `inspect J show N` prints it and the HTML report
/// shows it: begin to commit, sections, overlap, inhibit, slot operations with
/// their results and durations, the slot table after.
public enum TransactionDescription {
    /// The lines, first one the title, the rest indented by two spaces per level.
    public static func lines(_ r: TransactionRecord) -> [String] {
        // Times come from the file: a commit before its begin (edited) is shown as such, not trapped on.
        let took = r.commitNs >= r.beginNs ? micros(r.commitNs - r.beginNs) : "?? (its commit time precedes its begin)"
        var lines = ["transaction \(r.sequence), address space \(r.addressSpace), \(took) from begin to commit"]
        lines.append("  sections:")
        for (i, s) in r.sections.enumerated() { lines.append("    \(i): \(s)") }
        if let pair = r.decision.pair {
            lines.append("  overlap: delete #\(pair.deleteIndex) \(pair.deleted) overlaps add #\(pair.addIndex) \(pair.added)")
        } else {
            lines.append("  overlap: none")
        }
        let t = r.timing
        lines.append(t.inhibited
            ? "  inhibit: \(micros(t.inhibitNs)) (drain \(micros(t.drainNs)), apply \(micros(t.applyNs))), \(t.vcpusKicked) vCPU(s) kicked"
            : "  not inhibited; apply \(micros(t.applyNs))")
        if let timeout = t.drainTimeout { lines.append("  \(timeout)") }
        lines.append("  slot operations:")
        for (i, op) in r.slotOps.enumerated() { lines.append("    \(i): \(op) in \(micros(op.durationNs))") }
        lines.append("  slot table after: \(r.digest)")
        return lines
    }

    /// Nanoseconds as microseconds with one decimal.
    public static func micros(_ ns: UInt64) -> String { String(format: "%.1f µs", Double(ns) / 1000) }
}
