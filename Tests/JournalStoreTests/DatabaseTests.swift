import Harness
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

/// The reader's connection lifetime and hostile schema spellings.
@Suite struct ReaderConnectionTests {
    func journal(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.file("j.journal")
        try record(RunConfiguration(scenario: .pam, vcpus: 1, transactions: 5, seed: 2, vcpuMode: .stepping), to: path)
        return path
    }

    @Test func aReaderReleasesItsConnectionWithItsCachedStatements() throws {
        let dir = makeTemporaryDirectory()
        let path = try journal(dir)
        weak var connection: Database?
        do {
            let reader = try JournalReader(path: path)
            _ = try reader.summary()
            _ = try reader.records()
            connection = reader.database
            #expect(connection != nil)
        }
        #expect(connection == nil, "the statement cache kept the connection alive")
    }

    @Test func columnsAreFoundWhateverCaseTheSchemaSpellsThem() throws {
        let dir = makeTemporaryDirectory()
        let path = try journal(dir)
        let expected = try JournalReader(path: path).records()
        try Database(path: path, mode: .readWrite).execute(
            "ALTER TABLE transactions RENAME COLUMN slot_ops TO SLOT_OPS; ALTER TABLE transactions RENAME COLUMN as_id TO As_Id")
        #expect(try JournalReader(path: path).records() == expected)
    }

    @Test func aRenamedColumnIsACleanRefusalNotACrash() throws {
        let dir = makeTemporaryDirectory()
        let path = try journal(dir)
        try Database(path: path, mode: .readWrite).execute("ALTER TABLE faults RENAME COLUMN vcpu TO cpu")
        #expect(throws: JournalError.self) { try JournalReader(path: path).faults() }
    }

    @Test func aStaleSideFileAtTheNewPathIsRefused() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("new.journal")
        write(Array("stale".utf8), to: path + "-wal")
        let refused = #expect(throws: JournalError.self) {
            try JournalFile.create(at: path, header: simHeader(RunConfiguration(scenario: .pam)))
        }
        #expect(refused?.description.contains("new.journal-wal") == true)
        #expect(!fileExists(path))
    }
}
