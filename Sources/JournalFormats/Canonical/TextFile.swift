import JournalStore
import Sync
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Plain-file reading and writing for the text form of a journal.
public enum TextFile {
    /// The UTF-8 byte-order mark some tools put at the start of a text file.
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Calls `body` with each line (without its `\n`) and its number from 1
    /// (the rules of `Lines`).
    static func forEachLine(
        _ path: String, maxLineBytes: Int, lastLineMayBeOpen: Bool = false,
        _ body: (_ line: [UInt8], _ number: Int) throws(JournalError) -> Void
    ) throws(JournalError) {
        let lines = try Lines(path, maxLineBytes: maxLineBytes, lastLineMayBeOpen: lastLineMayBeOpen)
        while let line = try lines.next() { try body(line, lines.number) }
    }

    /// The lines of a file (without their `\n`), pulled one at a time.
    ///
    /// A line longer than `maxLineBytes` is refused before it is accumulated
    /// further, and a last line without its `\n` is refused as a truncated file —
    /// canonical files end every line with one. Logs other programs write
    /// (`lastLineMayBeOpen`) may stop mid-line, when their writer was killed:
    /// their last line is handed over like the others, and a file that is empty
    /// or ends in a newline ends there.
    final class Lines {
        let path: String
        private let maxLineBytes: Int
        private let lastLineMayBeOpen: Bool
        private let file: UnsafeMutablePointer<FILE>
        private var buffer = [UInt8](repeating: 0, count: 1 << 16)
        /// What is read of `buffer` and not yet taken: `buffer[start..<end]`.
        private var start = 0
        private var end = 0
        private var atEnd = false
        private var line: [UInt8] = []
        /// The number of the line `next` returned last (from 1).
        private(set) var number = 0

        init(_ path: String, maxLineBytes: Int, lastLineMayBeOpen: Bool = false) throws(JournalError) {
            var st = stat()
            guard stat(path, &st) == 0 else {
                if errno == ENOENT { throw .missing(path: path) }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else { throw .unreadable(path: path, reason: "not a regular file") }
            guard let file = fopen(path, "rb") else {
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            self.path = path
            self.maxLineBytes = maxLineBytes
            self.lastLineMayBeOpen = lastLineMayBeOpen
            self.file = file
        }

        deinit { fclose(file) }

        /// The next line, nil after the last.
        func next() throws(JournalError) -> [UInt8]? {
            line.removeAll(keepingCapacity: true)
            while true {
                if start == end {
                    guard !atEnd else { break }
                    let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
                    if n == 0 {
                        if ferror(file) != 0 { throw .unreadable(path: path, reason: "read error") }
                        atEnd = true
                        break
                    }
                    (start, end) = (0, n)
                }
                if let newline = buffer[start..<end].firstIndex(of: 0x0a) {
                    // A line of its own size: handing out `line` itself would give
                    // every later line the room of the longest one read so far.
                    let taken: [UInt8]
                    if line.isEmpty {
                        taken = Array(buffer[start..<newline])
                    } else {
                        line.append(contentsOf: buffer[start..<newline])
                        taken = Array(line[...])
                    }
                    start = newline + 1
                    guard taken.count <= maxLineBytes else { throw tooLong(path, number + 1, maxLineBytes) }
                    number += 1
                    return taken
                }
                line.append(contentsOf: buffer[start..<end])
                start = end
                guard line.count <= maxLineBytes else { throw tooLong(path, number + 1, maxLineBytes) }
            }
            guard !line.isEmpty else { return nil }
            guard lastLineMayBeOpen else {
                throw .malformed(
                    path: path, line: number + 1,
                    detail: "the last line has no newline at its end: the file was cut short (truncated)")
            }
            number += 1
            defer { line = [] }
            return line
        }
    }

    private static func tooLong(_ path: String, _ line: Int, _ limit: Int) -> JournalError {
        .malformed(path: path, line: line, detail: "line longer than \(limit) bytes")
    }

    /// Writes `bytes` to a new file at `path`, never replacing an existing one.
    public static func writeNew(_ bytes: [UInt8], to path: String) throws(JournalError) {
        try writeNew(to: path) { (emit: ([UInt8]) throws(JournalError) -> Void) throws(JournalError) in try emit(bytes) }
    }

    /// Writes what `produce` emits to a new file at `path`, never replacing an
    /// existing one: the text goes to a temporary file beside it (through a
    /// buffer of `bufferBytes`, so it is never all in memory), which is then
    /// linked into place (`link(2)` fails if `path` exists) — so `path` either
    /// does not appear or holds the whole text.
    public static func writeNew(
        to path: String, bufferBytes: Int = 1 << 20,
        _ produce: (_ emit: ([UInt8]) throws(JournalError) -> Void) throws(JournalError) -> Void
    ) throws(JournalError) {
        var st = stat()
        guard lstat(path, &st) != 0 else { throw .exists(path: path) }
        removeStalePartials(of: path)
        let partial: (path: String, fd: FileDescriptor)
        do { partial = try uniqueSibling(of: path) } catch {
            throw .writeFailed(path: path, reason: "cannot create a temporary file beside it: \(error)")
        }
        defer { unlink(partial.path) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(bufferBytes)
        func flush() throws(JournalError) {
            do { _ = try partial.fd.writeAll(buffer) } catch { throw .writeFailed(path: path, reason: "\(error)") }
            buffer.removeAll(keepingCapacity: true)
        }
        func sync() throws(JournalError) {
            do { try partial.fd.sync() } catch { throw .writeFailed(path: path, reason: "\(error)") }
        }
        do throws(JournalError) {
            try produce { (bytes: [UInt8]) throws(JournalError) in
                buffer.append(contentsOf: bytes)
                if buffer.count >= bufferBytes { try flush() }
            }
            try flush()
            try sync()
        } catch {
            try? partial.fd.close()
            throw error
        }
        do { try partial.fd.close() } catch { throw .writeFailed(path: path, reason: "\(error)") }
        guard link(partial.path, path) == 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
