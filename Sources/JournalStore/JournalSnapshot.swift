import Sync
#if canImport(Glibc)
import Glibc
#endif

/// How a journal is read without changing anything beside or in it.
///
/// SQLite opens a database in WAL mode by creating its `-shm` (and `-wal`) if
/// they are missing, by writing read marks into an existing `-shm`, and by
/// running recovery when the last writer died; in rollback mode it applies a hot
/// `-journal` and, if a `-wal` lies beside the file, opens and applies that. None
/// of this may happen to evidence. So:
///
/// - a journal in rollback mode with no side file (every cleanly closed journal)
///   is opened where it is, read-only: SQLite creates nothing for such a file;
/// - anything else — WAL mode (a recording still being written, or a recorder
///   that died), a hot rollback journal, a side file that should not be there —
///   is read from a private copy of the journal and of the side files that
///   belong to it, made with plain reads; the `-shm` is never copied (SQLite
///   rebuilds it from the `-wal`).
///
/// A side file that does not belong is reported and left out: a `-wal` beside a
/// journal in rollback mode (a clean close leaves none), a `-wal` whose header
/// is not a valid write-ahead log for this file's page size, or one that, once
/// applied, names another journal (its header row differs from the main file's).
struct JournalSnapshot {
    /// What to open: the journal itself, or its private copy.
    var readPath: String
    /// The private directory holding the copy (nil when the journal is read in place).
    var scratch: TemporaryDirectory?
    /// What the reader should be told (recovery, a sidecar left out, a live writer).
    var notes: [String]
    /// A recorder still has the journal open (it holds a lock on the `-shm`).
    var live: Bool

    /// Decides how to read `path` (already prechecked) and makes the copy if one is needed.
    static func take(_ path: String) throws(JournalError) -> JournalSnapshot {
        // A live writer creates and removes side files as it commits (the rollback
        // journal of the journal's creation, a -wal it restarts): one that vanishes
        // between being seen and being copied means "look again", not "unreadable".
        var attempts = 0
        while true {
            do {
                return try takeOnce(path)
            } catch {
                // Only a side file may vanish mid-read; about the journal itself the error is the answer.
                let sideFile: String? = switch error {
                case .missing(let file), .unreadable(let file, _): file
                default: nil
                }
                guard let sideFile, sideFile != path, attempts < 20 else { throw error }
                attempts += 1
                usleep(5000)
            }
        }
    }

    private static func takeOnce(_ path: String) throws(JournalError) -> JournalSnapshot {
        let header = try JournalFile.firstBytes(path, count: 100)
        // Prechecked, but the file may have been cut or replaced since.
        guard header.count == 100 else { throw .notSQLite(path: path) }
        let walMode = header[18] == 2 || header[19] == 2
        let pageSize = Int(header[16]) << 8 | Int(header[17]) == 1 ? 65536 : Int(header[16]) << 8 | Int(header[17])
        let walPath = path + "-wal"
        let hotPath = path + "-journal"
        // An empty -wal (created, never written) holds nothing to recover or to refuse.
        let hasWAL = exists(walPath) && fileState(walPath).first != 0
        let hasHot = exists(hotPath)
        if !walMode, !hasWAL, !hasHot {
            return JournalSnapshot(readPath: path, scratch: nil, notes: [], live: false)
        }
        var notes: [String] = []
        var copyWAL = false
        if hasWAL {
            let walHeader = try JournalFile.firstBytes(walPath, count: 32)
            if !walMode {
                notes.append("\(walPath) was left out: \(path) is not in WAL mode (as a closed journal is not), so a write-ahead log beside it belongs to something else; \(path) was read alone")
            } else if let problem = walHeaderProblem(walHeader, pageSize: pageSize) {
                notes.append("\(walPath) was left out: it is not a write-ahead log of this journal (\(problem)); \(path) was read alone, without what that file may hold")
            } else {
                copyWAL = true
            }
        }
        let live = walMode && writerHoldsLock(path + "-shm")
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "memjournal-read") } catch {
            throw .writeFailed(path: TemporaryDirectory.base, reason: "cannot create a private directory: \(error)")
        }
        let copy = scratch.file("journal")
        try copyStable(path, walPath: copyWAL ? walPath : nil, to: copy)
        if hasHot, !walMode {
            try copyFile(hotPath, to: copy + "-journal")
            notes.append("\(hotPath) (the rollback journal of a write in progress, or of one a writer died in) was applied to a private copy; \(path) and its side files were not changed")
        }
        if copyWAL {
            if let foreign = try walNamesAnotherJournal(copy, scratch: scratch) {
                notes.append("\(walPath) was left out: \(foreign); \(path) was read alone")
                TemporaryDirectory.removeTree(scratch.path)
                return try takeAlone(path, notes: notes)
            }
            notes.append(live
                ? "\(path) is being written: showing what is committed so far (read from a private copy)"
                : "\(path) was left in WAL mode by a recorder that did not close it: its -wal was recovered into a private copy; \(path) and its side files were not changed")
        }
        return JournalSnapshot(readPath: copy, scratch: scratch, notes: notes, live: live)
    }

    /// A copy of `path` alone (its `-wal` judged not to belong).
    private static func takeAlone(_ path: String, notes: [String]) throws(JournalError) -> JournalSnapshot {
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "memjournal-read") } catch {
            throw .writeFailed(path: TemporaryDirectory.base, reason: "cannot create a private directory: \(error)")
        }
        let copy = scratch.file("journal")
        try copyStable(path, walPath: nil, to: copy)
        return JournalSnapshot(readPath: copy, scratch: scratch, notes: notes, live: false)
    }

    // MARK: Side files

    /// Why a `-wal` header is not a write-ahead log for a database of `pageSize`, or nil.
    /// (SQLite's WAL format: magic 0x377f0682/3, format 3007000, the page size, and a
    /// checksum over the first 24 bytes in the byte order the magic's low bit names.)
    static func walHeaderProblem(_ h: [UInt8], pageSize: Int) -> String? {
        guard h.count == 32 else { return "\(h.count) bytes, shorter than a WAL header" }
        func be32(_ at: Int) -> UInt32 { h[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        let magic = be32(0)
        guard magic == 0x377f_0682 || magic == 0x377f_0683 else { return "no WAL magic number" }
        guard be32(4) == 3_007_000 else { return "WAL format \(be32(4)), not 3007000" }
        guard Int(be32(8)) == pageSize else { return "page size \(be32(8)), the journal's is \(pageSize)" }
        var s0: UInt32 = 0
        var s1: UInt32 = 0
        let bigEndian = magic & 1 == 1
        for i in stride(from: 0, to: 24, by: 8) {
            func word(_ at: Int) -> UInt32 {
                bigEndian ? be32(at) : UInt32(h[at]) | UInt32(h[at + 1]) << 8 | UInt32(h[at + 2]) << 16 | UInt32(h[at + 3]) << 24
            }
            s0 = s0 &+ word(i) &+ s1
            s1 = s1 &+ word(i + 4) &+ s0
        }
        guard s0 == be32(24), s1 == be32(28) else { return "its header checksum does not match" }
        return nil
    }

    /// Whether a connection holds SQLite's "database in use" lock on `shmPath`
    /// (byte 128 of the `-shm`, held shared by every open connection) — asked
    /// with F_GETLK on a read-only descriptor, which changes nothing.
    static func writerHoldsLock(_ shmPath: String) -> Bool {
        let fd = open(shmPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// Whether the `-wal` copied beside `copy` makes it another journal: the
    /// header row read with it differs from the one the main file holds alone.
    private static func walNamesAnotherJournal(_ copy: String, scratch: TemporaryDirectory) throws(JournalError) -> String? {
        let alone = scratch.file("main-alone")
        try copyFile(copy, to: alone)
        let identity = "SELECT created_unix_ns, host_kernel, command_line FROM journal_header WHERE id = 1"
        func read(_ file: String) -> [String]? {
            guard let database = try? Database(path: file, mode: .readOnly),
                  let rows = try? database.prepare(identity).rows(), let row = try? rows.next() else { return nil }
            return [String(row.int64("created_unix_ns")), row.text("host_kernel"), row.text("command_line")]
        }
        defer { JournalSideFiles.removeAll(alone) }
        // A main file without a header row (a schema-4 recorder wrote it into the
        // WAL) cannot tell: the chain and `verify` still stand behind the content.
        guard let own = read(alone) else { return nil }
        guard let withWAL = read(copy) else {
            return "applied to the journal, it leaves a file that cannot be read"
        }
        return own == withWAL ? nil : "it holds another journal's header (recorded \(withWAL[0]) ns, not \(own[0]) ns)"
    }

    // MARK: Copying

    /// Copies `path` (and `walPath` as `to-wal`) so that the pair is one moment's
    /// state: retried while the main file changes under the copy (a checkpoint of
    /// a live recorder) or the write-ahead log is restarted.
    private static func copyStable(_ path: String, walPath: String?, to destination: String) throws(JournalError) {
        for _ in 0..<50 {
            let before = fileState(path)
            let walBefore = try walPath.map { p throws(JournalError) in try JournalFile.firstBytes(p, count: 32) }
            try copyFile(path, to: destination)
            if let walPath { try copyFile(walPath, to: destination + "-wal") }
            let walAfter = try walPath.map { p throws(JournalError) in try JournalFile.firstBytes(p, count: 32) }
            // With a -wal whose header did not change (no restart), whatever a
            // checkpoint wrote into the main file meanwhile is also in the -wal copied
            // after it, and recovery applies it: only a restart spoils the pair.
            if walPath != nil ? walBefore == walAfter : before == fileState(path) { return }
            unlink(destination)
            unlink(destination + "-wal")
            usleep(2000)
        }
        throw .unreadable(path: path, reason: "it kept changing while being copied for reading (a recorder checkpointing it?); try again")
    }

    /// Size, modification time and inode: what a write to the file changes.
    private static func fileState(_ path: String) -> [Int] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [] }
        return [Int(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec, Int(st.st_ino)]
    }

    private static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Copies `source` to the new file `destination` with plain reads and writes.
    private static func copyFile(_ source: String, to destination: String) throws(JournalError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .unreadable(path: source, reason: String(cString: strerror(errno))) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .writeFailed(path: destination, reason: String(cString: strerror(errno))) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw .unreadable(path: source, reason: String(cString: strerror(errno))) }
            if n == 0 { return }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                if w < 0, errno == EINTR { continue }
                guard w > 0 else { throw .writeFailed(path: destination, reason: String(cString: strerror(errno))) }
                written += w
            }
        }
    }
}
