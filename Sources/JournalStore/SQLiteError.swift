import CSQLite

/// An SQLite result code, named (`.corrupt`, `.notADatabase`, …) so no caller
/// compares against a number. Extended codes (e.g. 2067, a UNIQUE constraint)
/// keep their value; `primary` strips them to the primary code.
public struct SQLiteResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = SQLiteResultCode(rawValue: SQLITE_OK)
    public static let error = SQLiteResultCode(rawValue: SQLITE_ERROR)
    public static let permission = SQLiteResultCode(rawValue: SQLITE_PERM)
    public static let busy = SQLiteResultCode(rawValue: SQLITE_BUSY)
    public static let readOnly = SQLiteResultCode(rawValue: SQLITE_READONLY)
    public static let ioError = SQLiteResultCode(rawValue: SQLITE_IOERR)
    public static let corrupt = SQLiteResultCode(rawValue: SQLITE_CORRUPT)
    public static let cannotOpen = SQLiteResultCode(rawValue: SQLITE_CANTOPEN)
    public static let constraint = SQLiteResultCode(rawValue: SQLITE_CONSTRAINT)
    public static let misuse = SQLiteResultCode(rawValue: SQLITE_MISUSE)
    public static let authorization = SQLiteResultCode(rawValue: SQLITE_AUTH)
    public static let notADatabase = SQLiteResultCode(rawValue: SQLITE_NOTADB)
    public static let row = SQLiteResultCode(rawValue: SQLITE_ROW)
    public static let done = SQLiteResultCode(rawValue: SQLITE_DONE)

    /// The primary result code (`.corrupt` for `SQLITE_CORRUPT_VTAB`, …).
    public var primary: SQLiteResultCode { SQLiteResultCode(rawValue: rawValue & 0xff) }

    /// SQLite's own name for the code (`sqlite3_errstr`).
    public var description: String { String(cString: sqlite3_errstr(rawValue)) }
}

/// A failed SQLite call: SQLite's result code and message, and the SQL (and
/// file) it concerned, so a log line alone says what went wrong where.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public var code: SQLiteResultCode
    /// `sqlite3_errmsg` at the time of the failure, or our own account of it.
    public var message: String
    /// The statement being prepared or run, if any.
    public var sql: String?
    /// The database file, if known.
    public var path: String?

    public init(code: SQLiteResultCode, message: String, sql: String? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// Whether the file itself is damaged or is no database (as opposed to a
    /// failed operation on a healthy one).
    public var isDamage: Bool { code.primary == .corrupt || code.primary == .notADatabase }

    public var description: String {
        var text = "SQLite error \(code.rawValue) (\(code)): \(message)"
        if let path { text += " [file \(path)]" }
        if let sql { text += " [sql: \(sql.count > 200 ? String(sql.prefix(200)) + "…" : sql)]" }
        return text
    }
}
