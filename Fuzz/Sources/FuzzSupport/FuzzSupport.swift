import CLibFuzzer
import Sync
#if canImport(Glibc)
import Glibc
#endif

/// The callback type libFuzzer calls with each input.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Hands the process to libFuzzer, which parses its own flags from the command
/// line, and exits with its status. Called from each target's top-level code:
/// SwiftPM makes that code the program's `main`, in place of libFuzzer's.
public func runLibFuzzer(_ testOneInput: FuzzCallback) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Calls `body` with a new private directory (`TemporaryDirectory`, under
/// `$TMPDIR`), removed when `body` returns: nothing an input leaves behind
/// (SQLite side files, partial outputs) reaches the next input.
public func withScratchDirectory<R>(_ body: (TemporaryDirectory) -> R) -> R {
    let directory: TemporaryDirectory
    do {
        directory = try TemporaryDirectory(prefix: "memjournal-fuzz")
    } catch {
        fatalError("FuzzSupport: cannot create a temporary directory under \(TemporaryDirectory.base): \(error)")
    }
    return withExtendedLifetime(directory) { body(directory) }
}

/// Writes `bytes` to a new file at `path` (which must not exist), all of it.
public func writeNewFile(_ bytes: UnsafeRawBufferPointer, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { fatalError("FuzzSupport: open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            fatalError("FuzzSupport: write \(path): \(String(cString: strerror(errno)))")
        }
        done += n
    }
}

/// The input libFuzzer passed, as raw bytes (`data` may be nil when `size` is 0).
public func inputBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: data, count: size)
}
