#if canImport(Glibc)
import Glibc
#endif

/// The files SQLite may keep beside a journal: the write-ahead log, its
/// shared-memory index and the rollback journal. Every place that creates,
/// copies or removes a journal names them through here.
public enum JournalSideFiles {
    public static let suffixes = ["-wal", "-shm", "-journal"]

    /// The side files of `journal` (whether or not they exist).
    public static func paths(of journal: String) -> [String] { suffixes.map { journal + $0 } }

    /// Removes `journal` and its side files, if present.
    public static func removeAll(_ journal: String) {
        for path in [journal] + paths(of: journal) { unlink(path) }
    }
}
