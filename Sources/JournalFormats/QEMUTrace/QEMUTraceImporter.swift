import Foundation
import MemoryModel
import Memslots
import JournalStore

/// Turns a QEMU `kvm_set_user_memory` trace into journal contents.
///
/// - **Transactions**: QEMU's listener applies its delete pass before its add
///   pass, so a new transaction starts wherever a delete follows an add — and
///   wherever the address space changes (one listener per address space).
/// - **Backings**: the connected ranges of host addresses (`ua`) become backings,
///   numbered from 1 in address order, and every address becomes (backing, offset),
///   so a replay can allocate them.
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
                    throw .malformed(path: path, line: index + 1,
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
        let backings = Backings(events)
        var history = HistoryReducer()
        var records: [TransactionRecord] = []
        var current: [QEMUTraceLine] = []
        var sawAdd = false

        func flush() throws(JournalError) {
            guard !current.isEmpty else { return }
            records.append(try transaction(current, sequence: UInt64(records.count + 1), history: &history,
                                           backings: backings, file: name, path: path))
            current.removeAll()
            sawAdd = false
        }
        for event in events {
            // Each address space has its own listener, so its ioctls form their own transactions.
            let space = SlotID(rawValue: event.slot).addressSpace
            if let first = current.first, SlotID(rawValue: first.slot).addressSpace != space { try flush() }
            if event.size == 0 && sawAdd { try flush() }
            if event.size != 0 { sawAdd = true }
            current.append(event)
        }
        try flush()

        let header = JournalHeader(
            backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil, seed: nil,
            commandLine: ["memjournal", "import", "--format", "qemu-trace", path], cleanClose: true)
        return JournalContents(
            header: header, backings: backings.descriptors, regions: [:], records: records, cutOff: [], faults: [],
            recorderStatistics: nil)
    }

    /// One listener transaction: its operations in order, with sections derived
    /// from them and the slot table it leaves.
    private static func transaction(
        _ events: [QEMUTraceLine], sequence: UInt64, history: inout HistoryReducer, backings: Backings, file: String,
        path: String
    ) throws(JournalError) -> TransactionRecord {
        var sections: [SectionChange] = []
        var ops: [SlotOperation] = []
        for (index, event) in events.enumerated() {
            let id = SlotID(rawValue: event.slot)
            let flags = SlotFlags(rawValue: event.flags)
            let errno = event.ret < 0 ? -event.ret : 0
            // The time since the previous event of the transaction: the trace stamps each
            // ioctl as it returns, so this is the call plus QEMU's work between calls.
            let duration: UInt64 = index > 0
                ? (event.timeMicros ?? 0) &* 1000 &- (events[index - 1].timeMicros ?? 0) &* 1000 : 0
            let region = "\(file):\(event.line)"
            if event.size == 0 {
                // The trace gives no size for a delete: it is the slot's own range.
                let old = history.slots.slot(id)
                // A slot never created in the trace: its range is unknown; record the address.
                let range = try! old?.range ?? GuestRange(start: event.gpa, size: 1)  // size 1 cannot overflow
                let host = old?.host ?? backings.location(event.userspaceAddress)
                let op = SlotOperation(kind: .delete, slot: id, range: range, host: host, flags: old?.flags ?? flags,
                                       errno: errno, durationNs: duration)
                ops.append(op)
                history.apply(op)
                if old != nil {
                    sections.append(SectionChange(.delete, section(range, host: host, flags: old!.flags, name: region)))
                }
                continue
            }
            guard let range = try? GuestRange(start: event.gpa, size: event.size) else {
                throw .malformed(path: path, line: event.line, detail: "impossible range")
            }
            let host = backings.location(event.userspaceAddress)
            let kind: SlotOperation.Kind
            if let old = history.slots.slot(id) {
                kind = old.range.start != range.start ? .move : .flags
            } else {
                kind = .create
            }
            let op = SlotOperation(kind: kind, slot: id, range: range, host: host, flags: flags, errno: errno,
                                   durationNs: duration)
            ops.append(op)
            history.apply(op)
            if kind != .flags {
                sections.append(SectionChange(.add, section(range, host: host, flags: flags, name: region)))
            }
        }
        let deletes = sections.filter { $0.kind == .delete }.map(\.section.range).sorted()
        let adds = sections.filter { $0.kind == .add }.map(\.section.range).sorted()
        let begin = (events.first?.timeMicros ?? 0) &* 1000
        let end = (events.last?.timeMicros ?? 0) &* 1000
        let addressSpace = SlotID(rawValue: events[0].slot).addressSpace
        history.applySections(sections, addressSpace: addressSpace)
        return TransactionRecord(
            sequence: sequence, addressSpace: addressSpace, beginNs: begin, commitNs: end, sections: sections,
            decision: OverlapDecision.decide(deletes: deletes, adds: adds), slotOps: ops,
            timing: .notInhibited(applyNs: end &- begin),
            digest: history.digest(addressSpace: addressSpace))
    }

    private static func section(_ range: GuestRange, host: BackingLocation, flags: SlotFlags, name: String)
        -> MemorySection
    {
        let readOnly = flags.contains(.readOnly)
        return MemorySection(range: range, regionName: name, kind: readOnly ? .rom : .ram, backing: host,
                             readOnly: readOnly, romd: false, dirtyLog: flags.contains(.logDirtyPages))
    }

    /// The connected ranges of host addresses, as backings.
    struct Backings {
        /// (first host address, size), ascending, disjoint.
        private var ranges: [(start: UInt64, size: UInt64)] = []

        init(_ events: [QEMUTraceLine]) {
            let spans = events.filter { $0.size > 0 }.map { ($0.userspaceAddress, $0.userspaceAddress + $0.size) }
                .sorted { $0.0 < $1.0 }
            var merged: [(UInt64, UInt64)] = []
            for (start, end) in spans {
                if let last = merged.last, start <= last.1 {
                    merged[merged.count - 1].1 = max(last.1, end)
                } else {
                    merged.append((start, end))
                }
            }
            ranges = merged.map { (start: $0.0 & ~0xfff, size: (($0.1 + 0xfff) & ~0xfff) - ($0.0 & ~0xfff)) }
        }

        var descriptors: [BackingDescriptor] {
            ranges.enumerated().map { BackingDescriptor(id: BackingID($0.offset + 1), size: $0.element.size) }
        }

        /// The backing holding `address` (an address outside every range — a delete
        /// of a slot never created in the trace — maps to backing 1's start).
        func location(_ address: UInt64) -> BackingLocation {
            for (index, range) in ranges.enumerated() where address >= range.start && address - range.start < range.size {
                return BackingLocation(backing: BackingID(index + 1), offset: address - range.start)
            }
            return BackingLocation(backing: 1, offset: 0)
        }
    }
}
