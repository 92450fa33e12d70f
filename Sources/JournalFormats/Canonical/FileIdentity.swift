import JournalStore
#if canImport(Glibc)
import Glibc
#endif

/// Which file is at a path, and as what: its device, inode, size and
/// modification time. A text file checked whole and then read again by each
/// walk (a JSONL history walked by `diff`, `replay`) is read again only while
/// it is still the file that was checked.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    /// The identity of the file at `path` now.
    static func of(_ path: String) throws(JournalError) -> FileIdentity {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            if code == ENOENT { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(code)))
        }
        return FileIdentity(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modifiedSeconds: status.st_mtim.tv_sec, modifiedNanoseconds: status.st_mtim.tv_nsec)
    }

    /// Throws, naming `path`, unless the file there is still this one.
    func check(_ path: String) throws(JournalError) {
        guard try Self.of(path) == self else {
            throw .badData(path: path, detail: "the file changed after it was checked (replaced, or written to, "
                + "while this command read it); nothing was written; run the command again")
        }
    }
}
