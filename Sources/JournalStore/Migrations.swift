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
        for migration in all[version..<target] {
            try database.transaction { () throws(SQLiteError) in
                try database.execute(migration.sql)
                let now = try database.scalar("PRAGMA user_version") ?? -1
                guard now == Int64(migration.version) else {
                    throw SQLiteError(
                        code: .error, message: "migration \(migration.name) left user_version at \(now), expected \(migration.version)",
                        path: database.path)
                }
            }
        }
    }
}
