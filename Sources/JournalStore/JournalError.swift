/// Why a journal could not be created, opened or read — each case names the
/// file, says what is wrong and what to do, and maps to a documented exit code.
public enum JournalError: Error, CustomStringConvertible, Sendable {
    /// The file does not exist or is not a regular file.
    case missing(path: String)
    /// It exists but cannot be read (permissions, I/O).
    case unreadable(path: String, reason: String)
    /// Zero bytes: not a journal (perhaps a recording that never started).
    case empty(path: String)
    /// Not an SQLite database at all.
    case notSQLite(path: String)
    /// An SQLite database, but not a journal (another `application_id`).
    case foreign(path: String, applicationID: Int32)
    /// The journal's `application_id`, but not the layout its schema version
    /// defines (tables or columns missing, renamed or retyped; objects added).
    case wrongLayout(path: String, detail: String)
    /// Written by a newer memjournal than this one.
    case newerSchema(path: String, found: Int, supported: Int)
    /// An older schema, and migration was not allowed.
    case olderSchema(path: String, found: Int, supported: Int)
    /// Shorter than its own header says, or failing SQLite's integrity check.
    case damaged(path: String, detail: String)
    /// A row holds a value outside its documented domain.
    case badData(path: String, detail: String)
    /// Creating a journal over an existing file is refused.
    case exists(path: String)
    /// SQLite failed while reading or writing.
    case io(path: String, SQLiteError)
    /// A text form of a journal (canonical JSONL) is malformed at `line` (from 1).
    case malformed(path: String, line: Int, detail: String)
    /// A log another tool wrote (a QEMU trace, an strace log) is malformed at `line` (from 1).
    case malformedLog(path: String, line: Int, detail: String)
    /// A text file that is none of the formats memjournal reads.
    case unrecognized(path: String, detail: String)
    /// Writing a file other than a journal (an export) failed.
    case writeFailed(path: String, reason: String)

    /// The documented exit code: 65 bad input data, 66 input missing, 74 I/O error.
    public var exitCode: Int32 {
        switch self {
        case .missing, .unreadable: 66
        case .empty, .notSQLite, .foreign, .wrongLayout, .newerSchema, .olderSchema, .damaged, .badData, .malformed, .malformedLog,
             .unrecognized: 65
        case .exists, .io, .writeFailed: 74
        }
    }

    public var path: String {
        switch self {
        case .missing(let p), .unreadable(let p, _), .empty(let p), .notSQLite(let p), .foreign(let p, _),
             .wrongLayout(let p, _),
             .newerSchema(let p, _, _), .olderSchema(let p, _, _), .damaged(let p, _), .badData(let p, _),
             .exists(let p), .io(let p, _), .malformed(let p, _, _), .malformedLog(let p, _, _), .writeFailed(let p, _), .unrecognized(let p, _):
            p
        }
    }

    /// The line a `.malformed` error names, else nil.
    public var line: Int? {
        if case .malformed(_, let line, _) = self { return line }
        if case .malformedLog(_, let line, _) = self { return line }
        return nil
    }

    public var description: String {
        switch self {
        case .missing(let p):
            "\(p): no such journal file; check the path (journals are written by `memjournal record -o FILE`)"
        case .unreadable(let p, let reason):
            "\(p): cannot read the journal: \(reason); check its permissions"
        case .empty(let p):
            "\(p): empty file (0 bytes), not a journal; the recording that should have written it never started — record again"
        case .notSQLite(let p):
            "\(p): not a journal: not an SQLite database at all; check that you passed the journal file and not something else"
        case .foreign(let p, let id):
            "\(p): not a journal: an SQLite database with application_id \(hexID(id)), journals have \(hexID(Migrations.applicationID)) (\"MJRN\"); nothing was changed"
        case .wrongLayout(let p, let detail):
            "\(p): not a memjournal journal (\(detail)): it carries a journal's application_id but not a journal's layout, so it was edited or made by another program; nothing was changed"
        case .newerSchema(let p, let found, let supported):
            "\(p): journal schema \(found) is newer than this memjournal understands (schema \(supported)); use a newer memjournal. The file was not changed"
        case .olderSchema(let p, let found, let supported):
            "\(p): journal schema \(found) is older than this memjournal's (schema \(supported)); allow migration (a migrated copy is made unless --in-place)"
        case .damaged(let p, let detail):
            "\(p): journal is damaged: \(detail); it cannot be read safely — use an intact copy or record again"
        case .badData(let p, let detail):
            "\(p): journal holds invalid data: \(detail)"
        case .unrecognized(let p, let detail):
            "\(p): not a file memjournal can import: \(detail)"
        case .exists(let p):
            "\(p): already exists; journals and their exports are never overwritten — remove it or choose another path"
        case .io(let p, let error):
            "\(p): I/O error: \(error)"
        case .malformedLog(let p, let line, let detail):
            "\(p):\(line): \(detail)"
        case .malformed(let p, let line, let detail):
            "\(p):\(line): \(detail); this is not a valid memjournal JSONL file (see docs/jsonl-format.md) — fix that line, or export the journal again with `memjournal export`"
        case .writeFailed(let p, let reason):
            "\(p): cannot write: \(reason); check free space and permissions (nothing was left behind)"
        }
    }
}

private func hexID(_ id: Int32) -> String {
    "0x" + String(UInt32(bitPattern: id), radix: 16, uppercase: true)
}
