import CSQLite
import Memslots
import Scenarios
import Testing
import TestSupport
import Harness
@testable import JournalStore
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Opening journals: schema versions, migration, and every kind of bad input.
@Suite("Opening journals")
struct OpeningTests {
    /// A small sealed journal.
    func makeJournal(_ dir: TemporaryDirectory, name: String = "good.journal") throws -> String {
        let path = dir.file(name)
        try record(RunConfiguration(scenario: .pam, vcpus: 1, transactions: 40, vcpuMode: .stepping), to: path)
        return path
    }

    /// Expects opening `path` to fail with `code`, a message naming the file, and
    /// the file left byte-identical.
    func expectRefused(
        _ path: String, code: Int32, mentioning words: [String] = [],
        migration: JournalFile.MigrationPolicy = .refuse, sourceLocation: SourceLocation = #_sourceLocation
    ) -> JournalError? {
        let before = contents(path)
        var caught: JournalError?
        do {
            _ = try JournalReader(path: path, migration: migration)
            Issue.record("\(path) opened, expected exit code \(code)", sourceLocation: sourceLocation)
        } catch {
            caught = error
            #expect(error.exitCode == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(path), "message must name the file: \(error)", sourceLocation: sourceLocation)
            for word in words {
                #expect(error.description.contains(word), "message lacks '\(word)': \(error)", sourceLocation: sourceLocation)
            }
        }
        #expect(contents(path) == before, "\(path) was modified", sourceLocation: sourceLocation)
        #expect(!fileExists(path + "-wal") && !fileExists(path + "-journal"), sourceLocation: sourceLocation)
        return caught
    }

    @Test("a fresh journal has the current schema, magic and WAL-free sealed file")
    func freshSchema() throws {
        let dir = makeTemporaryDirectory()
        let path = try makeJournal(dir)
        let db = try Database(path: path, mode: .readOnly)
        #expect(try db.scalar("PRAGMA user_version") == Int64(Migrations.current))
        #expect(try db.scalar("PRAGMA application_id") == 0x4D4A_524E)
        #expect(Migrations.current == 8)
        let tables = try db.texts("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        #expect(tables == [
            "backings", "capture", "capture_exits", "drain_timeouts", "faults", "journal_header", "recorder_stats",
            "region_names", "regions", "transactions",
        ])
        let strict = try db.texts("SELECT name FROM pragma_table_list WHERE strict = 1 AND schema = 'main' ORDER BY name")
        #expect(strict == tables)
        // Keyed by sequence and stored by that key.
        let withoutRowid = try db.texts("SELECT name FROM pragma_table_list WHERE wr = 1 AND schema = 'main' ORDER BY name")
        #expect(withoutRowid == ["capture_exits"])
        // Sealed: checkpointed back into one self-contained file.
        #expect(try db.texts("PRAGMA journal_mode") == ["delete"])
        #expect(!fileExists(path + "-wal"))
    }

    @Test("the views answer from the plain sqlite3 shell")
    func viewsFromShell() throws {
        let dir = makeTemporaryDirectory()
        let path = try makeJournal(dir)
        let pipe = popen("sqlite3 '\(path)' 'SELECT count(*) FROM transaction_summary; SELECT count(*) FROM cut_off_transactions;' 2>&1", "r")
        try #require(pipe != nil)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = fread(&buffer, 1, buffer.count, pipe)
            bytes += buffer[0..<n]
            if n < buffer.count { break }
        }
        let output = String(decoding: bytes, as: UTF8.self)
        #expect(pclose(pipe) == 0, "\(output)")
        let reader = try JournalReader(path: path)
        #expect(output == "\(try reader.summary().transactions)\n0\n")
    }

    @Test("a schema-1 journal is migrated on a copy, in place, or refused")
    func olderSchemaMigrated() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("v1.journal")
        do {
            let db = try Database(path: path, mode: .create)
            try Migrations.migrate(db, from: 0, to: 1)
            try JournalRows.insertHeader(simHeader(RunConfiguration(scenario: .bar)), chained: false, into: db)
        }
        let original = contents(path)
        // Refused when migration is not allowed, naming both versions.
        _ = expectRefused(path, code: 65, mentioning: ["schema 1", "schema \(Migrations.current)"])

        let copy = dir.file("v1-migrated.journal")
        let reader = try JournalReader(path: path, migration: .onCopy(destination: copy))
        #expect(reader.originalVersion == 1 && reader.readPath == copy)
        #expect(try reader.header().scenario == "bar")
        #expect(try reader.recorderStatistics() == StoredRecorderStatistics())
        #expect(contents(path) == original, "the original must not change when migrating a copy")
        #expect(try Database(path: copy, mode: .readOnly).scalar("PRAGMA user_version") == Int64(Migrations.current))

        // A private copy: somewhere else, and gone with its reader.
        var privateCopy = ""
        do {
            let reader = try JournalReader(path: path, migration: .onPrivateCopy)
            privateCopy = reader.readPath
            #expect(privateCopy != path && privateCopy.hasPrefix(TemporaryDirectory.base))
            #expect(fileExists(privateCopy))
            #expect(try reader.header().scenario == "bar")
        }
        #expect(!fileExists(privateCopy), "the migrated copy outlived its reader")
        #expect(contents(path) == original)

        let inPlace = try JournalReader(path: path, migration: .inPlace)
        #expect(inPlace.originalVersion == 1 && inPlace.readPath == path)
        #expect(try Database(path: path, mode: .readOnly).scalar("PRAGMA user_version") == Int64(Migrations.current))
    }

    @Test("a newer user_version is refused with both versions named, untouched")
    func newerSchemaRefused() throws {
        let dir = makeTemporaryDirectory()
        let path = try makeJournal(dir)
        try Database(path: path, mode: .readWrite).execute("PRAGMA user_version = 99")
        let error = expectRefused(path, code: 65, mentioning: ["schema 99", "schema \(Migrations.current)"],
                                  migration: .inPlace)
        guard case .newerSchema(_, 99, Migrations.current) = error else {
            Issue.record("expected newerSchema, got \(String(describing: error))")
            return
        }
    }

    @Test("a damaged schema version (negative, or any migration policy) is refused as damaged, untouched", arguments: [
        Int32.min, -1,
    ])
    func negativeSchemaVersionRefused(_ version: Int32) throws {
        let dir = makeTemporaryDirectory()
        let path = try makeJournal(dir)
        try Database(path: path, mode: .readWrite).execute("PRAGMA user_version = \(version)")
        for policy in [JournalFile.MigrationPolicy.refuse, .inPlace, .onPrivateCopy] {
            let error = expectRefused(path, code: 65, mentioning: ["damaged", "\(version)"], migration: policy)
            guard case .damaged = error else {
                Issue.record("expected damaged, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("a foreign SQLite file is refused (65) and left as it was")
    func foreignSQLite() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("other.db")
        try Database(path: path, mode: .create).execute("CREATE TABLE t (x); INSERT INTO t VALUES (1); PRAGMA application_id = 42;")
        let error = expectRefused(path, code: 65, mentioning: ["not a journal", "0x2A"], migration: .inPlace)
        guard case .foreign = error else { Issue.record("expected foreign, got \(String(describing: error))"); return }
    }

    @Test("an empty file is refused (65)")
    func emptyFile() {
        let dir = makeTemporaryDirectory()
        let path = dir.file("empty.journal")
        write([], to: path)
        guard case .empty = expectRefused(path, code: 65, mentioning: ["empty"], migration: .inPlace) else {
            Issue.record("expected empty")
            return
        }
    }

    @Test("random bytes are refused (65)", arguments: [7, 100, 4096, 65536])
    func randomBytes(size: Int) {
        let dir = makeTemporaryDirectory()
        let path = dir.file("random.journal")
        var rng = SeededRandom(seed: UInt64(size))
        write((0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, to: path)
        guard case .notSQLite = expectRefused(path, code: 65, mentioning: ["not an SQLite database"], migration: .inPlace)
        else {
            Issue.record("expected notSQLite")
            return
        }
    }

    @Test("a truncated journal is refused (65) as damaged", arguments: [0.5, 0.9, 0.99])
    func truncated(fraction: Double) throws {
        let dir = makeTemporaryDirectory()
        let good = try makeJournal(dir)
        let bytes = try #require(contents(good))
        let path = dir.file("truncated.journal")
        var cut = Int(Double(bytes.count) * fraction)
        if cut == bytes.count { cut -= 1 }
        write(Array(bytes[0..<cut]), to: path)
        guard case .damaged = expectRefused(path, code: 65, mentioning: ["damaged"], migration: .inPlace) else {
            Issue.record("expected damaged")
            return
        }
    }

    @Test("a missing file is 66, a directory 66")
    func missing() {
        let dir = makeTemporaryDirectory()
        for path in [dir.file("nope.journal"), dir.path] {
            do {
                _ = try JournalReader(path: path)
                Issue.record("opened \(path)")
            } catch {
                #expect(error.exitCode == 66)
                #expect(error.description.contains(path))
            }
        }
    }

    @Test("recording over an existing file is refused and leaves it alone")
    func createRefusesExisting() throws {
        let dir = makeTemporaryDirectory()
        let path = dir.file("precious")
        write([1, 2, 3], to: path)
        #expect(throws: JournalError.self) {
            _ = try JournalRecorder(path: path, header: simHeader(RunConfiguration(scenario: .pam)))
        }
        #expect(contents(path) == [1, 2, 3])
    }
}
