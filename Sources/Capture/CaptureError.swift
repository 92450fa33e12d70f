import SystemPackage

/// Why the service or a capture could not do what it was asked.
public enum CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The socket path is held by a live service.
    case socketInUse(path: String)
    /// The path exists and is not a socket.
    case notASocket(path: String)
    /// The path does not fit a Unix socket address.
    case socketPathTooLong(path: String)
    case system(call: String, path: String, Errno)
    /// The command to capture could not be started.
    case commandNotFound(String)

    public var description: String {
        switch self {
        case .socketInUse(let path):
            "\(path): a memjournal service is already listening there; stop it or choose another --socket"
        case .notASocket(let path):
            "\(path) exists and is not a socket; choose another --socket (it was left untouched)"
        case .socketPathTooLong(let path):
            "\(path): longer than a Unix socket path may be (107 bytes); choose a shorter --socket"
        case .system(let call, let path, let errno): "\(path): \(call) failed: \(errno)"
        case .commandNotFound(let command): "\(command): command not found (not in PATH, or not executable)"
        }
    }
}
