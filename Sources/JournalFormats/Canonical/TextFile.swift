import JournalStore
#if canImport(Glibc)
import Glibc
#endif

/// Plain-file reading and writing for the text form of a journal.
enum TextFile {
    /// Calls `body` with each line (without its `\n`) and its number from 1.
    ///
    /// A line longer than `maxLineBytes` is refused before it is accumulated
    /// further, and a last line without its `\n` is refused as a truncated file —
    /// canonical files end every line with one.
    static func forEachLine(
        _ path: String, maxLineBytes: Int, _ body: (_ line: [UInt8], _ number: Int) throws(JournalError) -> Void
    ) throws(JournalError) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
        guard let file = fopen(path, "rb") else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var line: [UInt8] = []
        var number = 1
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 {
                if ferror(file) != 0 { throw .unreadable(path: path, reason: "read error") }
                break
            }
            var start = 0
            while start < n {
                guard let newline = buffer[start..<n].firstIndex(of: 0x0a) else {
                    line.append(contentsOf: buffer[start..<n])
                    start = n
                    break
                }
                line.append(contentsOf: buffer[start..<newline])
                guard line.count <= maxLineBytes else { throw tooLong(path, number, maxLineBytes) }
                try body(line, number)
                line.removeAll(keepingCapacity: true)
                number += 1
                start = newline + 1
            }
            guard line.count <= maxLineBytes else { throw tooLong(path, number, maxLineBytes) }
        }
        guard line.isEmpty else {
            throw .malformed(
                path: path, line: number,
                detail: "the last line has no newline at its end: the file was cut short (truncated)")
        }
    }

    private static func tooLong(_ path: String, _ line: Int, _ limit: Int) -> JournalError {
        .malformed(path: path, line: line, detail: "line longer than \(limit) bytes")
    }

    /// Writes `bytes` to a new file at `path`, never replacing an existing one:
    /// the text goes to a temporary file beside it, which is then linked into
    /// place (`link(2)` fails if `path` exists) — so `path` either does not
    /// appear or holds the whole text.
    static func writeNew(_ bytes: [UInt8], to path: String) throws(JournalError) {
        var st = stat()
        guard lstat(path, &st) != 0 else { throw .exists(path: path) }
        let partial = "\(path).partial-\(getpid())"
        unlink(partial)
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        var written = 0
        var failure: Int32 = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            written += n
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        defer { unlink(partial) }
        guard failure == 0 else { throw .writeFailed(path: path, reason: String(cString: strerror(failure))) }
        guard link(partial, path) == 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

func getProcessID() -> Int32 { getpid() }

/// Removes a journal file and its SQLite side files, if present.
func removeFileSet(_ path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
}
