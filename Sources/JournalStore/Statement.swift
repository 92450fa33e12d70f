import CSQLite

/// A value bound to, or read from, an SQL parameter or column.
///
/// Unsigned 64-bit values travel as their bit pattern (see `u64`), the journal's
/// documented convention for SQLite's signed INTEGER.
public enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

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
    /// The connection's handle and file, not the `Database` object: the connection
    /// caches its statements, and a strong reference back would keep both — and
    /// the file open — forever. `sqlite3_close_v2` keeps the handle valid until its
    /// last statement is finalized, so a statement may outlive its `Database`.
    private let connection: OpaquePointer
    private let path: String
    /// Result column names, lowercased, by index (`AS` aliases included): SQLite
    /// names an unaliased column as the schema spells it, in any case. A row's
    /// column is found by comparing names in this short list: it runs for every
    /// column of every row read, and a comparison of two small strings costs less
    /// than lowercasing and hashing the name each time.
    private let columns: [String]
    /// The first column a row asked for that the result does not have (a journal
    /// whose schema is not ours); `takeMissingColumn` reports it after the rows.
    private var missingColumn: String?

    init(database: Database, sql: String) throws(SQLiteError) {
        connection = database.handle
        path = database.path
        self.sql = sql
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw database.error(rc, sql: sql)
        }
        handle = statement
        columns = (0..<sqlite3_column_count(statement)).map { index in
            sqlite3_column_name(statement, index).map { String(cString: $0).lowercased() } ?? ""
        }
    }

    deinit { sqlite3_finalize(handle) }

    /// Resets the statement and binds `values` to parameters 1…n.
    public func bind(_ values: [SQLValue]) throws(SQLiteError) {
        sqlite3_reset(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw SQLiteError(
                code: .misuse, message: "\(values.count) values for \(expected) parameters", sql: sql,
                path: path)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, mj_sqlite3_transient())
            case .blob(let b): rc = b.withUnsafeBytes {
                sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), mj_sqlite3_transient())
            }
            }
            guard rc == SQLITE_OK else { throw Database.error(rc, handle: connection, sql: sql, path: path) }
        }
    }

    /// Advances to the next row; false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = Database.error(rc, handle: connection, sql: sql, path: path)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Binds `values` and runs the statement to completion; returns the rows changed.
    @discardableResult
    public func run(_ values: SQLValue...) throws(SQLiteError) -> Int {
        try run(values)
    }

    /// `run` with the values as an array.
    @discardableResult
    public func run(_ values: [SQLValue]) throws(SQLiteError) -> Int {
        try bind(values)
        while try step() {}
        return Int(sqlite3_changes(connection))
    }

    /// Ends the current execution (releasing its read transaction) without binding.
    public func reset() { sqlite3_reset(handle) }

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

    /// The index of result column `name`, or nil (noted for `takeMissingColumn`).
    func column(_ name: String) -> Int32? {
        if let index = columns.firstIndex(of: name) { return Int32(index) }
        // Only a name not spelled in lower case gets here (or one that is missing).
        if let index = columns.firstIndex(of: name.lowercased()) { return Int32(index) }
        missingColumn = missingColumn ?? name
        return nil
    }

    /// The first column asked for that the result lacked, since the last call.
    public func takeMissingColumn() -> String? {
        defer { missingColumn = nil }
        return missingColumn
    }

    /// A view of the current row, its columns read by name. A column the result
    /// does not have reads as NULL (0, "") and is reported by `takeMissingColumn`.
    public struct Row {
        let statement: Statement

        public func isNull(_ name: String) -> Bool { statement.column(name).map(isNull(at:)) ?? true }
        public func int64(_ name: String) -> Int64 {
            statement.column(name).map { sqlite3_column_int64(statement.handle, $0) } ?? 0
        }
        public func int64OrNil(_ name: String) -> Int64? { isNull(name) ? nil : int64(name) }
        /// A u64 column (stored as its bit pattern).
        public func u64(_ name: String) -> UInt64 { UInt64(bitPattern: int64(name)) }
        public func u64OrNil(_ name: String) -> UInt64? { isNull(name) ? nil : u64(name) }
        /// A 0/1 column.
        public func bool(_ name: String) -> Bool { int64(name) == 1 }
        public func text(_ name: String) -> String { statement.column(name).map(text(at:)) ?? "" }
        public func textOrNil(_ name: String) -> String? { isNull(name) ? nil : text(name) }
        /// A BLOB column's bytes, nil for NULL.
        public func blobOrNil(_ name: String) -> [UInt8]? {
            guard let column = statement.column(name), !isNull(at: column) else { return nil }
            let count = Int(sqlite3_column_bytes(statement.handle, column))
            guard count > 0, let bytes = sqlite3_column_blob(statement.handle, column) else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        }

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
