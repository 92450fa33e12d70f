/// The journal's `region_names` table (schema 8): sections name their memory
/// region by a small id. A machine has tens of distinct names, but an imported
/// trace may name every section after its line, so the names are looked up in
/// the table (by its UNIQUE index, or its key) and only the recent ones kept.
final class RegionNames {
    private let database: Database
    /// Recently used names both ways; emptied when it reaches `cacheLimit`, so
    /// memory stays bounded whatever the number of distinct names.
    private var ids: [String: UInt64] = [:]
    private var names: [UInt64: String] = [:]
    /// The id the next new name gets: ids are 0, 1, … in order of first use.
    private var nextID: UInt64
    static let cacheLimit = 4096

    init(_ database: Database) throws(SQLiteError) {
        self.database = database
        nextID = UInt64(try database.scalar("SELECT count(*) FROM region_names") ?? 0)
    }

    /// The id of `name`, added to the table when it is new.
    func id(_ name: String) throws(SQLiteError) -> UInt64 {
        if let id = ids[name] { return id }
        let id: UInt64
        let lookup = try database.cachedStatement("SELECT id FROM region_names WHERE name = ?")
        // Reset at once: a statement left mid-way would keep a read open on the table.
        let found = try lookup.rows([.text(name)]).next()?.u64("id")
        lookup.reset()
        if let found {
            id = found
        } else {
            id = nextID
            try database.cachedStatement("INSERT INTO region_names (id, name) VALUES (?, ?)").run(.u64(id), .text(name))
            nextID += 1
        }
        remember(id, name)
        return id
    }

    /// The name with `id`, or nil when there is none.
    func name(_ id: UInt64) throws(SQLiteError) -> String? {
        if let name = names[id] { return name }
        let lookup = try database.cachedStatement("SELECT name FROM region_names WHERE id = ?")
        let found = try lookup.rows([.u64(id)]).next()?.text("name")
        lookup.reset()
        guard let name = found else { return nil }
        remember(id, name)
        return name
    }

    private func remember(_ id: UInt64, _ name: String) {
        if ids.count >= Self.cacheLimit {
            ids.removeAll(keepingCapacity: true)
            names.removeAll(keepingCapacity: true)
        }
        ids[name] = id
        names[id] = name
    }
}
