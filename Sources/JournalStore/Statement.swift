import CSQLite

/// A value bound to, or read from, an SQL parameter or column.
///
/// Unsigned 64-bit values travel as their bit pattern (see `u64`), the journal's
/// documented convention for SQLite's signed INTEGER.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case text(String)

    /// An unsigned 64-bit value stored losslessly as its two's-complement bit pattern.
    public static func u64(_ value: UInt64) -> SQLValue { .integer(Int64(bitPattern: value)) }
    public static func int<T: BinaryInteger>(_ value: T) -> SQLValue { .integer(Int64(value)) }
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
    /// `.null` for nil, else `wrap(value)`.
    public static func optional<T>(_ value: T?, _ wrap: (T) -> SQLValue) -> SQLValue {
        value.map(wrap) ?? .null
    }
}

/// A prepared statement. Every parameter is bound by index on each execution —
/// `bind` refuses a value list whose length differs from the statement's
/// parameter count — so no value is ever spliced into SQL text. Result columns
/// are read by name: the names are looked up once, when the statement is prepared.
///
/// Not `Sendable`: it belongs to its `Database`'s thread.
public final class Statement {
    let handle: OpaquePointer
    /// The SQL text, for error messages.
    public let sql: String
    private let database: Database
    /// Result column index by name (`AS` aliases included).
    private let columns: [String: Int32]

    init(database: Database, sql: String) throws(SQLiteError) {
        self.database = database
        self.sql = sql
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw database.error(rc, sql: sql)
        }
        handle = statement
        var columns: [String: Int32] = [:]
        for index in 0..<sqlite3_column_count(statement) {
            if let name = sqlite3_column_name(statement, index) { columns[String(cString: name)] = index }
        }
        self.columns = columns
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to parameters 1…n.
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(
                code: .misuse, message: "\(values.count) values for \(expected) parameters", sql: sql,
                path: database.path)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, mj_sqlite3_transient())
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Advances to the next row; false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Binds `values` and runs the statement to completion; returns the rows changed.
    @discardableResult
    public func run(_ values: SQLValue...) throws(SQLiteError) -> Int {
        try bind(values)
        while try step() {}
        return Int(sqlite3_changes(database.handle))
    }

    /// Binds `values` and returns a cursor over the result rows.
    public func rows(_ values: [SQLValue] = []) throws(SQLiteError) -> Rows {
        try bind(values)
        return Rows(statement: self)
    }

    /// The rows of one execution, read one at a time (nothing is buffered).
    public struct Rows {
        let statement: Statement

        /// The next row, valid until the following call; nil when done.
        public func next() throws(SQLiteError) -> Row? {
            try statement.step() ? Row(statement: statement) : nil
        }
    }

    func column(_ name: String) -> Int32 {
        guard let index = columns[name] else {
            preconditionFailure("no column \"\(name)\" in: \(sql)")
        }
        return index
    }

    /// A view of the current row, its columns read by name.
    public struct Row {
        let statement: Statement

        private func index(_ name: String) -> Int32 { statement.column(name) }

        public func isNull(_ name: String) -> Bool { isNull(at: index(name)) }
        public func int64(_ name: String) -> Int64 { sqlite3_column_int64(statement.handle, index(name)) }
        public func int64OrNil(_ name: String) -> Int64? { isNull(name) ? nil : int64(name) }
        /// A u64 column (stored as its bit pattern).
        public func u64(_ name: String) -> UInt64 { UInt64(bitPattern: int64(name)) }
        public func u64OrNil(_ name: String) -> UInt64? { isNull(name) ? nil : u64(name) }
        /// A 0/1 column.
        public func bool(_ name: String) -> Bool { int64(name) == 1 }
        public func text(_ name: String) -> String { text(at: index(name)) }
        public func textOrNil(_ name: String) -> String? { isNull(name) ? nil : text(name) }

        func isNull(at column: Int32) -> Bool { sqlite3_column_type(statement.handle, column) == SQLITE_NULL }
        func int64OrNil(at column: Int32) -> Int64? {
            isNull(at: column) ? nil : sqlite3_column_int64(statement.handle, column)
        }
        func text(at column: Int32) -> String {
            guard let bytes = sqlite3_column_text(statement.handle, column) else { return "" }
            let count = Int(sqlite3_column_bytes(statement.handle, column))
            return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        }
    }
}
