import CSQLite
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// Creating and opening journal files, with the checks that keep a wrong or
/// hostile file from being misread or modified.
///
/// Opening for reading never writes to the input: the file is examined with
/// plain reads, then opened by SQLite read-only with defensive settings. A file
/// that is refused — missing, empty, not SQLite, another application's database,
/// a newer schema, damaged — is left byte-identical. An older schema is migrated
/// on a copy unless in-place migration is asked for.
public enum JournalFile {
    /// What to do with a journal written by an older schema.
    public enum MigrationPolicy: Sendable, Equatable {
        /// Refuse it (`JournalError.olderSchema`).
        case refuse
        /// Copy it to `destination` (which must not exist), migrate the copy and read that.
        case onCopy(destination: String)
        /// Copy it into a private temporary directory, migrate the copy and read
        /// that; the copy goes away with the reader.
        case onPrivateCopy
        /// Migrate the file itself.
        case inPlace
    }

    /// A journal opened for reading.
    public struct Opened {
        public let database: Database
        /// The file asked for.
        public let path: String
        /// The file actually read: `path`, or the migrated copy.
        public let readPath: String
        /// The schema the file had before any migration.
        public let originalVersion: Int
        /// The private directories holding copies: of a journal that could not be
        /// read in place (see `JournalSnapshot`), and of a migrated one (`.onPrivateCopy`).
        public let scratch: [TemporaryDirectory]
        /// What the reader should be told: a `-wal` recovered into a private copy,
        /// a side file left out because it does not belong, a recording in progress.
        public let notes: [String]
        public var migrated: Bool { originalVersion != Migrations.current }
    }

    // MARK: Creating

    /// Creates a new journal at `path` (refusing to overwrite anything) with the
    /// current schema, in WAL mode with the given durability, and writes `header`
    /// (with the hash chain's start unless `chained` is false — an unchained
    /// journal, as schema 4 wrote, exists only to measure what the chain costs).
    public static func create(at path: String, header: JournalHeader, chained: Bool = true) throws(JournalError) -> Database {
        var st = stat()
        // A stale side file at the new path would be taken for the new journal's own.
        for candidate in [path] + JournalSideFiles.paths(of: path) where lstat(candidate, &st) == 0 {
            throw .exists(path: candidate)
        }
        // The schema and the header are written under a private name beside `path`
        // and linked into place whole, so a reader never finds `path` half made
        // (a schema without its header, a migration in flight); a killed creator
        // leaves a directory the next creation beside `path` removes.
        removeStalePartials(of: path)
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(beside: path) } catch {
            throw .writeFailed(path: path, reason: "cannot create a temporary directory beside it: \(error)")
        }
        let partial = scratch.file("journal")
        do throws(SQLiteError) {
            let database = try Database(path: partial, mode: .create)
            // Rollback-journal mode, so the main file's own header carries
            // application_id and user_version, and the main file holds the header
            // row (and its chain start): a -wal found beside it later can be told
            // to belong to it or not (`JournalSnapshot`).
            try Migrations.migrate(database, from: 0)
            try JournalRows.insertHeader(header, chained: chained, into: database)
        } catch {
            throw .io(path: path, error)
        }
        // Switched to WAL before it is linked into place, on a connection of its own
        // that closes before the link (so its checkpoint has put everything in the
        // main file and removed the -wal): no reader ever opens the journal in place
        // in rollback mode and then follows it into the live WAL.
        do throws(SQLiteError) {
            let database = try Database(path: partial, mode: .readWrite)
            try database.execute("PRAGMA journal_mode = WAL")
        } catch {
            throw .io(path: path, error)
        }
        // What the connection wrote must be in the main file now, or it would go
        // with the private directory.
        guard lstat(partial + "-wal", &st) != 0 || st.st_size == 0 else {
            throw .writeFailed(path: path, reason: "the new journal's write-ahead log was not checkpointed when its connection closed")
        }
        guard link(partial, path) == 0 else {
            let code = errno
            if code == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: String(cString: strerror(code)))
        }
        do {
            let database = try Database(path: path, mode: .readWrite)
            try configureForWriting(database, durability: header.durability)
            return database
        } catch {
            throw .io(path: path, error)
        }
    }

    /// Foreign keys on, WAL, and `synchronous` set explicitly (Debian builds
    /// SQLite with WAL defaulting to FULL; we want NORMAL unless asked).
    static func configureForWriting(_ database: Database, durability: Durability) throws(SQLiteError) {
        try database.execute("PRAGMA foreign_keys = ON")
        let mode = try database.texts("PRAGMA journal_mode = WAL").first
        guard mode == "wal" else {
            throw SQLiteError(code: .error, message: "cannot enable WAL (journal_mode is \(mode ?? "?"))", path: database.path)
        }
        try database.execute(durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
    }

    // MARK: Opening

    /// Opens a journal for reading (inspection, replay, export), changing nothing
    /// beside or in it unless `.inPlace` migration is asked for (see `JournalSnapshot`).
    public static func openForReading(_ path: String, migration: MigrationPolicy = .refuse) throws(JournalError) -> Opened {
        try precheck(path)
        // A reader racing a live recorder may copy a moment the recorder was in the
        // middle of: such a copy is taken again, never reported as damage.
        var attempts = 0
        while true {
            let snapshot = try JournalSnapshot.take(path)
            do {
                return try openSnapshot(snapshot, path: path, migration: migration)
            } catch .damaged(let p, let detail) {
                attempts += 1
                guard snapshot.live, attempts < 10 else { throw .damaged(path: p, detail: detail) }
                usleep(20_000)
            }
        }
    }

    private static func openSnapshot(_ snapshot: JournalSnapshot, path: String, migration: MigrationPolicy) throws(JournalError) -> Opened {
        let database = try openChecked(snapshot.readPath, name: path)
        let version: Int
        do {
            version = Int(try database.scalar("PRAGMA user_version") ?? 0)
        } catch {
            throw classify(error, path: path)
        }
        let scratch = snapshot.scratch.map { [$0] } ?? []
        if version == Migrations.current {
            return Opened(database: database, path: path, readPath: snapshot.readPath, originalVersion: version,
                          scratch: scratch, notes: snapshot.notes)
        }
        switch migration {
        case .refuse:
            throw .olderSchema(path: path, found: version, supported: Migrations.current)
        case .onCopy(let destination):
            return try migrateCopy(database, of: path, to: destination, from: version, scratch: scratch, notes: snapshot.notes)
        case .onPrivateCopy:
            let directory: TemporaryDirectory
            do { directory = try TemporaryDirectory(prefix: "memjournal-migrated") } catch {
                throw .writeFailed(path: TemporaryDirectory.base, reason: "cannot create a private directory: \(error)")
            }
            return try migrateCopy(database, of: path, to: directory.file("journal"), from: version,
                                   scratch: scratch + [directory], notes: snapshot.notes)
        case .inPlace:
            try migrate(path, from: version, name: path)
            return Opened(database: try openChecked(path, name: path), path: path, readPath: path, originalVersion: version,
                          scratch: [], notes: snapshot.notes)
        }
    }

    private static func migrateCopy(
        _ database: Database, of path: String, to destination: String, from version: Int, scratch: [TemporaryDirectory],
        notes: [String]
    ) throws(JournalError) -> Opened {
        do {
            try database.backup(to: destination)
        } catch {
            throw .io(path: destination, error)
        }
        try migrate(destination, from: version, name: path)
        return Opened(database: try openChecked(destination, name: path), path: path, readPath: destination,
                      originalVersion: version, scratch: scratch, notes: notes)
    }

    /// Migrates the file at `path` (the journal `name`, or its copy); a row the
    /// migration cannot carry over is damage in `name`.
    private static func migrate(_ path: String, from version: Int, name: String) throws(JournalError) {
        do {
            let database = try Database(path: path, mode: .readWrite)
            try database.execute("PRAGMA foreign_keys = ON")
            try Migrations.migrate(database, from: version)
        } catch {
            guard error.isDamage || error.code.primary == .constraint else { throw .io(path: path, error) }
            throw .damaged(path: name, detail: "cannot be brought from schema \(version) to \(Migrations.current): \(error.message)")
        }
    }

    /// Opens `file` read-only and checks identity, schema version and integrity;
    /// errors name `path` (the journal asked for, when `file` is its copy).
    private static func openChecked(_ file: String, name path: String) throws(JournalError) -> Database {
        let database: Database
        let applicationID: Int32
        let version: Int
        do {
            database = try Database(path: file, mode: .readOnly)
            applicationID = Int32(truncatingIfNeeded: try database.scalar("PRAGMA application_id") ?? 0)
            version = Int(try database.scalar("PRAGMA user_version") ?? 0)
        } catch {
            throw classify(error, path: path)
        }
        guard applicationID == Migrations.applicationID else { throw .foreign(path: path, applicationID: applicationID) }
        // user_version is a signed 32-bit header field: a negative one is damage, not a schema.
        guard version >= 0 else {
            throw .damaged(path: path, detail: "the header's schema version (user_version) is \(version)")
        }
        guard version <= Migrations.current else {
            throw .newerSchema(path: path, found: version, supported: Migrations.current)
        }
        let check: [String]
        do { check = try database.texts("PRAGMA quick_check") } catch { throw classify(error, path: path) }
        guard check == ["ok"] else {
            throw .damaged(path: path, detail: "quick_check: " + check.prefix(3).joined(separator: "; "))
        }
        let difference: String?
        do {
            difference = try JournalSchema.difference(JournalSchema.objects(of: database, schema: "main"), version: version)
        } catch {
            throw classify(error, path: path)
        }
        if let difference { throw .wrongLayout(path: path, detail: difference) }
        return database
    }

    private static func classify(_ error: SQLiteError, path: String) -> JournalError {
        switch error.code.primary {
        case .notADatabase: .notSQLite(path: path)
        case .corrupt: .damaged(path: path, detail: error.message)
        case .cannotOpen, .permission, .authorization: .unreadable(path: path, reason: error.message)
        default: .io(path: path, error)
        }
    }

    /// Up to `count` bytes from the start of the file at `path`, with plain reads
    /// (missing: `.missing`; any other failure: `.unreadable`).
    public static func firstBytes(_ path: String, count: Int) throws(JournalError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[..<filled])
    }

    /// Plain-read checks before SQLite sees the file: exists, regular, not
    /// empty, starts with SQLite's magic, and is as long as its header says.
    static func precheck(_ path: String) throws(JournalError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(e)))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        guard st.st_size > 0 else { throw .empty(path: path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 100)
        let n = read(fd, &header, 100)
        guard n >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let magic = Array("SQLite format 3\0".utf8)
        guard n == 100, Array(header[0..<16]) == magic else { throw .notSQLite(path: path) }
        func be32(_ at: Int) -> UInt32 {
            header[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let rawPageSize = UInt32(header[16]) << 8 | UInt32(header[17])
        let pageSize = rawPageSize == 1 ? 65536 : Int64(rawPageSize)
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
            throw .damaged(path: path, detail: "invalid page size \(rawPageSize) in the SQLite header")
        }
        let size = Int64(st.st_size)
        // The in-header page count is valid when the change counter (offset 24)
        // equals the version-valid-for number (offset 92) — and only describes the
        // file in rollback mode: in WAL mode (bytes 18-19 = 2) a live recorder's
        // checkpoint may be extending the file while we look.
        let pages = Int64(be32(28))
        let walMode = header[18] == 2 || header[19] == 2
        if !walMode, be32(24) == be32(92), pages > 0, size < pages * pageSize {
            throw .damaged(path: path, detail: "truncated: the file has \(size) bytes, its header says \(pages) pages of \(pageSize) bytes (\(pages * pageSize))")
        }
        guard size % pageSize == 0 else {
            throw .damaged(path: path, detail: "truncated: \(size) bytes is not a whole number of \(pageSize)-byte pages")
        }
    }
}
