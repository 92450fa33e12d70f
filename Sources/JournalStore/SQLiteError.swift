import CSQLite

/// A failed SQLite call: SQLite's result code and message, and the SQL (and
/// file) it concerned, so a log line alone says what went wrong where.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The extended result code (`sqlite3_extended_errcode`), e.g. 2067 for a
    /// UNIQUE constraint; `primaryCode` strips it to the primary code.
    public var code: Int32
    /// `sqlite3_errmsg` at the time of the failure.
    public var message: String
    /// The statement being prepared or run, if any.
    public var sql: String?
    /// The database file, if known.
    public var path: String?

    public init(code: Int32, message: String, sql: String? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// The primary result code (`SQLITE_CORRUPT`, `SQLITE_NOTADB`, …).
    public var primaryCode: Int32 { code & 0xff }

    /// SQLite's own name for the code (`sqlite3_errstr`).
    public var codeName: String { String(cString: sqlite3_errstr(code)) }

    public var description: String {
        var text = "SQLite error \(code) (\(codeName)): \(message)"
        if let path { text += " [file \(path)]" }
        if let sql { text += " [sql: \(sql.count > 200 ? String(sql.prefix(200)) + "…" : sql)]" }
        return text
    }
}
