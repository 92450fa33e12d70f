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
/// parameter count — so no value is ever spliced into SQL text.
///
/// Not `Sendable`: it belongs to its `Database`'s thread.
public final class Statement {
    let handle: OpaquePointer
    /// The SQL text, for error messages.
    public let sql: String
    private let database: Database

    init(database: Database, sql: String) throws(SQLiteError) {
        self.database = database
        self.sql = sql
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw database.error(rc, sql: sql)
        }
        handle = statement
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to parameters 1…n.
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(
                code: SQLITE_MISUSE, message: "\(values.count) values for \(expected) parameters", sql: sql,
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

    /// Binds `values` and maps every result row.
    public func query<T>(_ values: [SQLValue] = [], _ row: (Row) throws -> T) throws -> [T] {
        try bind(values)
        defer { sqlite3_reset(handle) }
        var result: [T] = []
        while try step() { result.append(try row(Row(statement: self))) }
        return result
    }

    /// A view of the current row; valid only inside `query`'s closure.
    public struct Row {
        let statement: Statement

        public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement.handle, column) == SQLITE_NULL }
        public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement.handle, column) }
        public func int64OrNil(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
        /// A u64 column (stored as its bit pattern).
        public func u64(_ column: Int32) -> UInt64 { UInt64(bitPattern: int64(column)) }
        public func u64OrNil(_ column: Int32) -> UInt64? { isNull(column) ? nil : u64(column) }
        public func text(_ column: Int32) -> String {
            guard let bytes = sqlite3_column_text(statement.handle, column) else { return "" }
            let count = Int(sqlite3_column_bytes(statement.handle, column))
            return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        }
        public func textOrNil(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
        /// The column's storage class name: "integer", "text", "null", "real" or "blob".
        public func typeName(_ column: Int32) -> String {
            switch sqlite3_column_type(statement.handle, column) {
            case SQLITE_INTEGER: "integer"
            case SQLITE_TEXT: "text"
            case SQLITE_NULL: "null"
            case SQLITE_FLOAT: "real"
            default: "blob"
            }
        }
    }
}
