import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A new directory with a unique name under the system's temporary directory
/// (`$TMPDIR`, else `/tmp`), made by `mkdtemp`: mode 0700 and a name no other
/// user can have pre-created. Removed with its contents when released, unless
/// `keep()` was called.
public final class TemporaryDirectory: Sendable {
    public let path: String
    /// Set by `keep()`, read by `deinit`; relaxed: the last release orders both.
    private let kept = Atomic<Bool>(false)

    /// A new directory under the system's temporary directory.
    public convenience init(prefix: String = "memjournal") throws(Errno) {
        try self.init(template: "\(TemporaryDirectory.base)/\(prefix)-XXXXXX")
    }

    /// A new directory beside `path` (`path.partial-PID-XXXXXX`): on the same
    /// file system, so a file built inside can be linked into place at `path`. The
    /// creator's pid in the name lets a later run recognise it as stale if this
    /// process is killed before it is removed (`removeStalePartials`).
    public convenience init(beside path: String) throws(Errno) {
        try self.init(template: "\(path).partial-\(getpid())-XXXXXX")
    }

    private init(template: String) throws(Errno) {
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw Errno(rawValue: errno) }
        path = String(cString: made)
    }

    /// The system's temporary directory.
    public static var base: String {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Leaves the directory in place when released.
    public func keep() { kept.store(true, ordering: .relaxed) }

    deinit {
        if !kept.load(ordering: .relaxed) { Self.removeTree(path) }
    }

    /// Removes a directory and everything below it (no symlink is followed).
    public static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name != ".", name != ".." else { continue }
                let child = path + "/" + name
                var info = stat()
                if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                    removeTree(child)
                } else {
                    unlink(child)
                }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

extension FileDescriptor {
    /// `fsync(2)`, restarted on EINTR.
    public func sync() throws(Errno) {
        while fsync(rawValue) != 0 {
            guard errno == EINTR else { throw Errno(rawValue: errno) }
        }
    }
}

/// A unique, new, empty file next to `path` (same directory, so it can be
/// linked into place atomically), created by `mkstemp` and marked close-on-exec.
/// Returns its path and an open descriptor.
public func uniqueSibling(of path: String) throws(Errno) -> (path: String, fd: FileDescriptor) {
    var template = Array("\(path).partial-\(getpid())-XXXXXX".utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { throw Errno(rawValue: errno) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    return (String(cString: template), FileDescriptor(rawValue: fd))
}

/// Removes what killed writers left beside `path`: entries named
/// `path.partial-PID-…` (by `TemporaryDirectory(beside:)` and `uniqueSibling`)
/// whose process no longer exists. A live process's partial output is left
/// alone, so two writers never disturb each other. Returns the paths removed.
@discardableResult
public func removeStalePartials(of path: String) -> [String] {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
    let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".partial-"
    guard let dir = opendir(directory) else { return [] }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name.hasPrefix(prefix) { names.append(name) }
    }
    closedir(dir)
    var removed: [String] = []
    for name in names {
        // PID is the digits after the prefix, up to the next '-'.
        guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0 else { continue }
        guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
        let stale = directory == "/" ? "/" + name : directory + "/" + name
        var info = stat()
        guard lstat(stale, &info) == 0 else { continue }
        if info.st_mode & S_IFMT == S_IFDIR { TemporaryDirectory.removeTree(stale) } else { unlink(stale) }
        removed.append(stale)
    }
    return removed
}
