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

    public static func read(_ path: String, lenient: Bool = false) throws(JournalError) -> Result {
        guard let data = FileManager.default.contents(atPath: path) else { throw .missing(path: path) }
        guard data.count <= 1 << 30 else { throw .badData(path: path, detail: "trace larger than 1 GiB") }
        var events: [QEMUTraceLine] = []
        var skipped: [(Int, String)] = []
        let bytes = data.starts(with: TextFile.byteOrderMark) ? data.dropFirst(3) : data[...]
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            do {
                if let event = try QEMUTraceLine.parse(line, line: index + 1) { events.append(event) }
            } catch {
                guard lenient else {
                    throw .malformedLog(path: path, line: index + 1,
                                     detail: "\(error.detail); fix the line or import with --lenient to skip it")
                }
                skipped.append((index + 1, error.detail))
            }
        }
        guard !events.isEmpty else {
            let read = lines.last?.isEmpty == true ? lines.count - 1 : lines.count
            throw .unrecognized(
                path: path,
                detail: "no kvm_set_user_memory events in \(path) (\(read) lines read); capture the trace with -trace kvm_set_user_memory")
        }
        let contents = try build(events, path: path)
        return Result(contents: contents, events: events.count, skipped: skipped)
    }

    static func build(_ events: [QEMUTraceLine], path: String) throws(JournalError) -> JournalContents {
        let name = (path as NSString).lastPathComponent
        var backings = HostBackings()
        var transactions = IoctlTransactions()
        var records: [TransactionRecord] = []
        for event in events {
            guard let request = MemoryRegionCall.Request(gpa: event.gpa, size: event.size) else {
                throw .malformedLog(path: path, line: event.line, detail: "impossible range")
            }
            let call = MemoryRegionCall(
                slot: SlotID(rawValue: event.slot), flags: SlotFlags(rawValue: event.flags), request: request,
                host: backings.locate(event.userspaceAddress, size: event.size).location,
                errno: event.ret < 0 ? -event.ret : 0, timeNs: event.timeMicros.map { $0 &* 1000 },
                name: "\(name):\(event.line)")
            if let closed = transactions.add(call) { records.append(closed) }
        }
        if let closed = transactions.close() { records.append(closed) }

        let header = JournalHeader(
            backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil, seed: nil,
            commandLine: ["memjournal"] + OutsideChannel.qemuTrace.commandWords + [path], cleanClose: true)
        return JournalContents(
            header: header, backings: backings.descriptors, regions: [:], records: records, cutOff: [], faults: [],
            recorderStatistics: nil)
    }
}
