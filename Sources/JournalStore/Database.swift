import CSQLite

/// One SQLite connection.
///
/// Every connection gets SQLite's defensive settings (no writes to the schema
/// through `PRAGMA writable_schema`, untrusted schema objects cannot call
/// functions with side effects, no double-quoted string literals). A `.readOnly`
/// connection — the one inspection uses, because journals arrive attached to bug
/// reports — additionally disables triggers and views, bounds string and SQL
/// lengths, checks cell sizes and is `query_only`.
///
/// Not `Sendable`: a connection is opened with `SQLITE_OPEN_NOMUTEX` and used by
/// one thread at a time (the recorder hands its connection to its writer thread).
public final class Database {
    public enum OpenMode: Sendable {
        /// Create a new database file (the caller checks that none exists).
        case create
        /// Open an existing database for reading and writing.
        case readWrite
        /// Open an existing database read-only, for untrusted input.
        case readOnly
        /// Create a private working database (the path is ours, never a user's),
        /// whose `ATTACH` statements may name files as `file:` URIs.
        case scratch
    }

    let handle: OpaquePointer
    public let path: String
    public let mode: OpenMode
    /// Statements prepared by `cachedStatement`, by SQL text.
    private var statementCache: [String: Statement] = [:]

    /// Longest string or blob a read-only connection will return (bounds every
    /// allocation made from a journal's contents).
    public static let readOnlyLengthLimit: Int32 = 1 << 20

    public init(path: String, mode: OpenMode) throws(SQLiteError) {
        self.path = path
        self.mode = mode
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .scratch: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI
        }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw SQLiteError(code: SQLiteResultCode(rawValue: rc), message: message, path: path)
        }
        handle = db
        do {
            try configure()
        } catch {
            sqlite3_close_v2(db)
            throw error
        }
    }

    deinit {
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    private func configure() throws(SQLiteError) {
        try setOption(SQLITE_DBCONFIG_DEFENSIVE, true)
        try setOption(SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        try setOption(SQLITE_DBCONFIG_DQS_DML, false)
        try setOption(SQLITE_DBCONFIG_DQS_DDL, false)
        try setOption(SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, false)
        sqlite3_busy_timeout(handle, 5000)
        if mode == .readOnly {
            try setOption(SQLITE_DBCONFIG_ENABLE_TRIGGER, false)
            try setOption(SQLITE_DBCONFIG_ENABLE_VIEW, false)
            sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, Self.readOnlyLengthLimit)
            sqlite3_limit(handle, SQLITE_LIMIT_SQL_LENGTH, 100_000)
            sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0)
            try execute("PRAGMA query_only = ON; PRAGMA cell_size_check = ON; PRAGMA mmap_size = 0;")
        }
    }

    /// Sets a boolean `sqlite3_db_config` option and checks that it took.
    private func setOption(_ option: Int32, _ enabled: Bool) throws(SQLiteError) {
        var now: Int32 = -1
        let rc = mj_sqlite3_db_config_bool(handle, option, enabled ? 1 : 0, &now)
        guard rc == SQLITE_OK, (now != 0) == enabled else {
            throw SQLiteError(
                code: rc == SQLITE_OK ? .error : SQLiteResultCode(rawValue: rc),
                message: "sqlite3_db_config(\(option)) did not take", path: path)
        }
    }

    /// The error for result code `rc` from the last call on this connection.
    func error(_ rc: Int32, sql: String?) -> SQLiteError {
        Self.error(rc, handle: handle, sql: sql, path: path)
    }

    /// The error for result code `rc` from the last call on connection `handle`.
    static func error(_ rc: Int32, handle: OpaquePointer, sql: String?, path: String) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        return SQLiteError(
            code: SQLiteResultCode(rawValue: extended != 0 ? extended : rc), message: String(cString: sqlite3_errmsg(handle)),
            sql: sql, path: path)
    }

    /// Runs trusted SQL text (migrations, pragmas) that may hold several
    /// statements. Never used with values from outside: those go through
    /// `prepare` and `bind`.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            var error = self.error(rc, sql: sql)
            if let message {
                error.message = String(cString: message)
                sqlite3_free(message)
            }
            throw error
        }
    }

    /// A new prepared statement, owned by the caller.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// The statement for `sql`, prepared once per connection and reused (GRDB's
    /// cached statements): queries run again and again — a reader's per-range
    /// reads, a migration's checks — pay for parsing once. The caller must finish
    /// with it (read its rows) before asking for the same SQL again.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] { return statement }
        let statement = try prepare(sql)
        statementCache[sql] = statement
        return statement
    }

    /// The integer a single-value pragma or query returns (nil for no row / NULL).
    public func scalar(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> Int64? {
        let rows = try prepare(sql).rows(values)
        return try rows.next()?.int64OrNil(at: 0)
    }

    /// Every row's first column as text (e.g. `PRAGMA quick_check`).
    public func texts(_ sql: String) throws(SQLiteError) -> [String] {
        let rows = try prepare(sql).rows()
        var result: [String] = []
        while let row = try rows.next() { result.append(row.text(at: 0)) }
        return result
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws.
    public func transaction<R>(_ body: () throws(SQLiteError) -> R) throws(SQLiteError) -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Copies the whole database into a new file at `destination` (the online
    /// backup API: a consistent snapshot, WAL contents included).
    public func backup(to destination: String) throws(SQLiteError) {
        let target = try Database(path: destination, mode: .create)
        guard let backup = sqlite3_backup_init(target.handle, "main", handle, "main") else {
            throw target.error(sqlite3_errcode(target.handle), sql: nil)
        }
        let rc = sqlite3_backup_step(backup, -1)
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else { throw target.error(rc, sql: nil) }
    }
}
