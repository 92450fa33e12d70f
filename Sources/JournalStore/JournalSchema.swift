import Sync

/// The schema objects (tables, indexes, views, triggers) a journal of a given
/// schema version has: exactly those its migrations create, with exactly their
/// SQL text. A file whose objects differ — a table missing, renamed or retyped,
/// a column added or dropped, a trigger or view planted — is not a journal this
/// program wrote, whatever its `application_id` says.
enum JournalSchema {
    struct Object: Hashable, Sendable, Comparable {
        var type: String
        var name: String
        var sql: String

        static func < (a: Object, b: Object) -> Bool { (a.type, a.name) < (b.type, b.name) }
    }

    /// The objects of schema `version`, made by running migrations 1…version on
    /// an in-memory database (cached per version).
    static func expected(version: Int) throws(SQLiteError) -> [Object] {
        if let cached = cache.withLock({ $0[version] }) { return cached }
        let database = try Database(path: ":memory:", mode: .create)
        try Migrations.migrate(database, from: 0, to: version)
        let objects = try objects(of: database, schema: "main")
        cache.withLock { $0[version] = objects }
        return objects
    }

    /// The user-visible objects of `schema` in `database` (SQLite's own
    /// `sqlite_%` objects excluded), sorted.
    static func objects(of database: Database, schema: String) throws(SQLiteError) -> [Object] {
        let rows = try database.prepare("""
            SELECT type, name, coalesce(sql, '') AS sql FROM \(schema).sqlite_schema
            WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name
            """).rows()
        var objects: [Object] = []
        while let row = try rows.next() {
            objects.append(Object(type: row.text("type"), name: row.text("name"), sql: row.text("sql")))
        }
        return objects
    }

    /// What is wrong with `found` as schema `version`, or nil if it is exactly right.
    static func difference(_ found: [Object], version: Int) throws(SQLiteError) -> String? {
        let expected = try expected(version: version)
        let lowered = { (objects: [Object]) in objects.map { Object(type: $0.type, name: $0.name.lowercased(), sql: $0.sql.lowercased()) } }
        guard lowered(found) != lowered(expected) else { return nil }
        let byName = Dictionary(expected.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let foundNames = Set(found.map(\.name))
        if let missing = expected.first(where: { !foundNames.contains($0.name) }) {
            return "\(missing.type) '\(missing.name)' of schema \(version) is missing"
        }
        for object in found {
            guard let wanted = byName[object.name] else {
                return "it holds a \(object.type) '\(object.name)' that no memjournal writes"
            }
            // SQL names are case-insensitive (a column renamed from errno to ERRNO is
            // the same column); the values' constraints are checked by `JournalVerifier`.
            guard wanted.type == object.type, wanted.sql.lowercased() == object.sql.lowercased() else {
                return "\(wanted.type) '\(object.name)' is not defined as schema \(version) defines it (a column renamed, retyped, added or removed?)"
            }
        }
        return "its schema objects differ from schema \(version)'s"
    }

    /// Schema objects by version. The lock keeps the dictionary whole across
    /// threads; it is not held while a version is computed, so two threads may
    /// both compute one — the results are equal, and either write is right.
    private static let cache = PlainLocked<[Int: [Object]]>([:])
}
