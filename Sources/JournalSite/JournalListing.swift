import Analysis
import Glibc
import JSON
import JournalStore
import Sync

/// The rows of `GET /api/journals`: each journal in the directory with what a
/// person scanning a directory of recordings wants first — which VMM, how big,
/// how many transactions, faults and unprotected windows, and whether it is
/// still being recorded, sealed cleanly, or cut short.
///
/// A row is recomputed only when its file (or its write-ahead log) changed
/// size or time, so a page polling every second costs a `stat` per journal
/// until one of them grows.
final class JournalListing: Sendable {
    private let directory: String
    /// Rows by path with the file stamp they were read at. Guarded: requests are
    /// answered on several threads at once.
    private let rows = PlainLocked<[String: (stamp: [Int64], row: JSONValue)]>([:])

    init(directory: String) { self.directory = directory }

    /// Every `*.journal` directly in the directory, by name; `recording` names
    /// the paths the service is writing now.
    func rows(recording: Set<String>) -> JSONValue {
        let names = Self.journalNames(in: directory)
        var answer: [JSONValue] = []
        var kept: [String: (stamp: [Int64], row: JSONValue)] = [:]
        let cached = rows.withLock { $0 }
        for name in names {
            guard let name = try? JournalName(Substring(name), in: directory) else { continue }
            let stamp = Self.stamp(name.path)
            let live = recording.contains(name.path)
            let row: JSONValue
            if let hit = cached[name.path], hit.stamp == stamp {
                row = hit.row
            } else {
                row = Self.read(name)
            }
            kept[name.path] = (stamp, row)
            answer.append(Self.marking(row, recording: live))
        }
        rows.withLock { $0 = kept }
        return .array(answer)
    }

    static func journalNames(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".journal"), !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// Size and modification time of the journal and of its -wal, if any.
    static func stamp(_ path: String) -> [Int64] {
        [path, path + "-wal"].flatMap { file -> [Int64] in
            var info = stat()
            guard stat(file, &info) == 0 else { return [-1, -1] }
            return [Int64(info.st_size), Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)]
        }
    }

    private static func read(_ journal: JournalName) -> JSONValue {
        let bytes = stamp(journal.path).enumerated().filter { $0.offset % 2 == 0 }.map { max($0.element, 0) }.reduce(0, +)
        do {
            let reader = try JournalReader(path: journal.path, migration: .onPrivateCopy)
            let header = try reader.header()
            let summary = try reader.summary()
            let capture = try reader.capture()
            let hazards = try reader.forEachHazard()
            let vmm = capture.map { "\($0.vmmBinary.split(separator: "/").last.map(String.init) ?? $0.vmmBinary) (pid \($0.vmmPID))" }
                ?? "\(header.backend) backend\(header.scenario.map { ", \($0)" } ?? "")"
            let state = !summary.cleanClose ? "cut short" : summary.cutOff > 0 ? "cut off" : "clean"
            return .orderedObject([
                ("name", .string(journal.name)), ("vmm", .string(vmm)), ("bytes", .int(Int(bytes))),
                ("transactions", .int(summary.transactions)), ("faults", .int(summary.faults)),
                ("hazards", .int(hazards.unprotected)), ("clean_close", .bool(summary.cleanClose)),
                ("cut_off", .int(summary.cutOff)), ("state", .string(state)),
            ])
        } catch {
            return .orderedObject([("name", .string(journal.name)), ("bytes", .int(Int(bytes))),
                                   ("problem", .string("\(error)"))])
        }
    }

    /// A row with whether the service is writing that journal now.
    private static func marking(_ row: JSONValue, recording: Bool) -> JSONValue {
        guard case .object(var fields) = row else { return row }
        fields.append((key: "recording", value: .bool(recording)))
        if recording, let index = fields.firstIndex(where: { $0.key == "state" }) { fields[index].value = .string("recording") }
        return .object(fields)
    }
}
