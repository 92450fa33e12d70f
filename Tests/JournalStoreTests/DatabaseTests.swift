import Sync
import Testing
import TestSupport
@testable import JournalStore

/// The SQLite layer: cached statements, rows by column name, named result codes,
/// typed errors through transactions.
@Suite struct DatabaseTests {
    func scratch(_ dir: TemporaryDirectory) throws -> Database {
        let db = try Database(path: dir.file("t.db"), mode: .create)
        try db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, big INTEGER) STRICT")
        return db
    }

    @Test func cachedStatementsArePreparedOnceAndRowsAreReadByName() throws {
        let dir = makeTemporaryDirectory()
        let db = try scratch(dir)
        try db.prepare("INSERT INTO t (id, name, big) VALUES (?, ?, ?)").run(.integer(1), .text("one"), .u64(.max))
        let sql = "SELECT big AS huge, name, id FROM t WHERE id = ?"
        let first = try db.cachedStatement(sql)
        #expect(try db.cachedStatement(sql) === first)
        for _ in 0..<3 {
            let row = try #require(try first.rows([.integer(1)]).next())
            #expect(row.u64("huge") == .max)
            #expect(row.text("name") == "one")
            #expect(row.int64("id") == 1)
        }
        #expect(try db.prepare(sql) !== first, "prepare always makes a new statement")
    }

    @Test func failuresCarryNamedResultCodes() throws {
        let dir = makeTemporaryDirectory()
        let db = try scratch(dir)
        try db.prepare("INSERT INTO t (id, name) VALUES (?, ?)").run(.integer(1), .text("x"))
        let duplicate = #expect(throws: SQLiteError.self) {
            try db.prepare("INSERT INTO t (id, name) VALUES (?, ?)").run(.integer(1), .text("y"))
        }
        #expect(duplicate?.code.primary == .constraint)
        let wrongArity = #expect(throws: SQLiteError.self) { try db.prepare("SELECT ?").rows([]) }
        #expect(wrongArity?.code == .misuse)

        write(Array(repeating: 0x41, count: 4096), to: dir.file("garbage.db"))
        let notADatabase = #expect(throws: SQLiteError.self) {
            try Database(path: dir.file("garbage.db"), mode: .readOnly).scalar("PRAGMA user_version")
        }
        #expect(notADatabase?.code.primary == .notADatabase)
        #expect(notADatabase?.isDamage == true)
    }

    @Test func aTransactionRollsBackAndRethrowsTheSameTypedError() throws {
        let dir = makeTemporaryDirectory()
        let db = try scratch(dir)
        let thrown = #expect(throws: SQLiteError.self) {
            try db.transaction { () throws(SQLiteError) in
                try db.prepare("INSERT INTO t (id, name) VALUES (?, ?)").run(.integer(7), .text("kept?"))
                throw SQLiteError(code: .constraint, message: "made up by the test")
            }
        }
        #expect(thrown?.message == "made up by the test")
        #expect(try db.scalar("SELECT count(*) FROM t") == 0)
    }
}
