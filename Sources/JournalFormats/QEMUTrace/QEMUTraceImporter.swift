import Foundation
import MemoryModel
import Memslots
import JournalStore

/// Turns a QEMU `kvm_set_user_memory` trace into journal contents.
///
/// - **Transactions**: the rule of `IoctlTransactions`, shared with `capture`.
/// - **Backings**: host addresses (`ua`) become (backing, offset) through
///   `HostBackings`, as in `capture`, so a replay can allocate them and the two
///   channels name the same memory alike.
/// - **Sections** are derived from the operations (a delete of the slot's range, an
///   add of the new one), named after the log file and line, which is how the
///   source's line numbers are kept; the overlap decision is taken over them as the
///   listener would. Times come from the timestamps when the log has them.
public enum QEMUTraceImporter {
    public struct Result: Sendable {
        public var contents: JournalContents
        public var events: Int
        /// Malformed event lines skipped under `lenient` (line number and why).
        public var skipped: [(line: Int, detail: String)]
    }

    /// Whether `text` looks like a QEMU trace (used to pick the import format).
    public static func looksLikeTrace(_ firstLines: [Substring]) -> Bool {
        firstLines.contains { $0.contains(QEMUTraceLine.event) }
    }

    /// What `importFile` wrote.
    public struct Imported: Sendable {
        public var events: Int
        public var transactions: Int
        public var backings: Int
        /// Malformed event lines skipped under `lenient` (line number and why).
        public var skipped: [(line: Int, detail: String)]
    }

    /// The trace at `path` as journal contents, in memory.
    public static func read(_ path: String, lenient: Bool = false) throws(JournalError) -> Result {
        let (contents, walked) = try OutsideChannel.qemuTrace.importContents(path) { take throws(JournalError) in
            let walked = try walk(path, lenient: lenient, take)
            return (walked, walked.backings)
        }
        return Result(contents: contents, events: walked.events, skipped: walked.skipped)
    }

    /// Writes the trace at `path` as a new journal at `output`, each transaction
    /// as its last event is read, so memory does not grow with the trace. A
    /// failure (a malformed line, no events at all) leaves nothing at `output`.
    public static func importFile(_ path: String, to output: String, lenient: Bool = false) throws(JournalError)
        -> Imported
    {
        let imported = try OutsideChannel.qemuTrace.importJournal(path, to: output) { take throws(JournalError) in
            let walked = try walk(path, lenient: lenient, take)
            return (walked, walked.backings)
        }
        return Imported(events: imported.found.events, transactions: imported.transactions, backings: imported.backings,
                        skipped: imported.found.skipped)
    }

    /// Reads the trace line by line, handing each listener transaction to `take`
    /// as it closes; returns the events read, the backings the host addresses
    /// became and the lines skipped.
    private static func walk(
        _ path: String, lenient: Bool, _ take: (TransactionRecord) throws(JournalError) -> Void
    ) throws(JournalError) -> (events: Int, backings: [BackingDescriptor], skipped: [(line: Int, detail: String)]) {
        let name = (path as NSString).lastPathComponent
        var backings = HostBackings()
        var transactions = IoctlTransactions()
        var events = 0
        var skipped: [(line: Int, detail: String)] = []
        var lines = 0
        try TextFile.forEachLine(path, maxLineBytes: maxLineBytes, lastLineMayBeOpen: true) {
            (bytes: [UInt8], number: Int) throws(JournalError) in
            lines = number
            let text = number == 1 && bytes.starts(with: TextFile.byteOrderMark)
                ? String(decoding: bytes.dropFirst(3), as: UTF8.self) : String(decoding: bytes, as: UTF8.self)
            let event: QEMUTraceLine
            do throws(QEMUTraceLine.Failure) {
                guard let parsed = try QEMUTraceLine.parse(text[...], line: number) else { return }
                event = parsed
            } catch {
                guard lenient else {
                    throw .malformedLog(path: path, line: number,
                                        detail: "\(error.detail); fix the line or import with --lenient to skip it")
                }
                skipped.append((number, error.detail))
                return
            }
            guard let request = MemoryRegionCall.Request(gpa: event.gpa, size: event.size) else {
                throw .malformedLog(path: path, line: event.line, detail: "impossible range")
            }
            events += 1
            let call = MemoryRegionCall(
                slot: SlotID(rawValue: event.slot), flags: SlotFlags(rawValue: event.flags), request: request,
                host: backings.locate(event.userspaceAddress, size: event.size).location,
                errno: event.ret < 0 ? -event.ret : 0, timeNs: event.timeMicros.map { $0 &* 1000 },
                name: "\(name):\(event.line)")
            if let closed = transactions.add(call) { try take(closed) }
        }
        guard events > 0 else {
            throw .unrecognized(
                path: path,
                detail: "no kvm_set_user_memory events in \(path) (\(lines) lines read); capture the trace with -trace kvm_set_user_memory")
        }
        if let closed = transactions.close() { try take(closed) }
        return (events, backings.descriptors, skipped)
    }

    /// Longest line read: far beyond any trace event; a log line longer than
    /// this (a guest's console output, say) is refused with its number.
    static let maxLineBytes = 16 << 20

}
