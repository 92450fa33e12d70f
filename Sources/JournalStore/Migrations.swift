/// The journal schema's migrations: the files of the package's top-level
/// `migrations/` directory, embedded into this module at build time by the
/// `EmbedMigrations` build-tool plugin (so the `.sql` files are the only source
/// of the schema, and a built binary needs nothing beside it at run time).
///
/// File `NNNN_name.sql` brings a journal from schema NNNN-1 to NNNN and ends by
/// setting `PRAGMA user_version = NNNN`; the runner checks that it did.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
}

public enum Migrations {
    /// `application_id` of every journal: the ASCII bytes "MJRN".
    public static let applicationID: Int32 = 0x4D4A_524E

    /// Every migration, in order; versions are 1, 2, … with no gap (checked once).
    public static let all: [Migration] = {
        let migrations = EmbeddedMigrations.files.map { file -> Migration in
            let digits = file.name.prefix { $0.isASCII && $0.isNumber }
            guard digits.count == 4, let version = Int(digits) else {
                fatalError("migrations/\(file.name): name must start with a 4-digit schema number")
            }
            return Migration(version: version, name: file.name, sql: file.sql)
        }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            fatalError("migrations/\(migration.name): expected schema \(index + 1) here; numbers must run 1, 2, … without gaps")
        }
        return migrations
    }()

    /// The schema this build writes and understands.
    public static var current: Int { all.count }

    /// Applies migrations `version + 1 … target` to `database`, each in its own
    /// transaction, so an interrupted migration leaves the previous schema whole.
    public static func migrate(_ database: Database, from version: Int, to target: Int = current) throws(SQLiteError) {
        guard version < target else { return }
        // A version outside 0…current (damaged header bytes) is the caller's to refuse;
        // here it must never index past the list.
        guard version >= 0, target <= all.count else {
            throw SQLiteError(code: .corrupt, message: "cannot migrate from schema \(version) to \(target)",
                              path: database.path)
        }
        // SQLite's procedure for changing a table's layout: foreign keys off outside
        // the transaction (a table can then be renamed without its children's
        // REFERENCES following it, and dropped without deleting their parents),
        // checked with foreign_key_check before each commit, restored afterwards.
        let enforced = try database.scalar("PRAGMA foreign_keys") == 1
        if enforced { try database.execute("PRAGMA foreign_keys = OFF") }
        defer { if enforced { try? database.execute("PRAGMA foreign_keys = ON") } }
        for migration in all[version..<target] {
            try database.transaction { () throws(SQLiteError) in
                try database.execute(migration.sql)
                try dataSteps[migration.version]?(database)
                let now = try database.scalar("PRAGMA user_version") ?? -1
                guard now == Int64(migration.version) else {
                    throw SQLiteError(
                        code: .error, message: "migration \(migration.name) left user_version at \(now), expected \(migration.version)",
                        path: database.path)
                }
                if enforced, let orphan = try database.prepare("PRAGMA foreign_key_check").rows().next() {
                    throw SQLiteError(
                        code: .constraint,
                        message: "migration \(migration.name): a row of \(orphan.text("table")) names a missing row of \(orphan.text("parent"))",
                        path: database.path)
                }
            }
        }
    }

    /// Work a migration's SQL cannot do, run right after it in the same SQLite
    /// transaction: schema 8 packs rows into BLOBs, which SQLite 3.40's SQL cannot
    /// build (no `unhex`). Each runs on an empty journal too (a new one is
    /// created by migrating from schema 0).
    static let dataSteps: [Int: @Sendable (Database) throws(SQLiteError) -> Void] = [
        8: Schema8Conversion.run,
    ]
}
