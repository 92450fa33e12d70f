import Glibc
import Sync
import SystemPackage

/// The service's listening socket: `AF_UNIX`, `SOCK_SEQPACKET` (one record per
/// datagram, in order), reachable only through the file system.
///
/// Binding refuses a path where a live service answers and reclaims a stale one
/// (a socket file nobody listens on, left by a service that died).
public final class RecordSocket: Sendable {
    public let path: String
    private let fd: Int32

    public init(path: String) throws(CaptureError) {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw .socketPathTooLong(path: path)
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path: path) }
            if Self.answers(path) { throw .socketInUse(path: path) }
            unlink(path)  // stale: nobody listens
        }
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(call: "socket", path: path, Errno(rawValue: errno)) }
        var address = Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let error = Errno(rawValue: errno)
            close(fd)
            throw .system(call: "bind", path: path, error)
        }
        self.path = path
        self.fd = fd
    }

    /// Waits for the next VMM; nil once `shutdown()` was called.
    public func accept() -> RecordConnection? {
        while true {
            let connection = Glibc.accept(fd, nil, nil)
            if connection >= 0 {
                // Not inherited by the command `capture` starts (accept4 is not in Glibc's Swift module).
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                return RecordConnection(fd: connection)
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            return nil
        }
    }

    /// Stops accepting (a blocked `accept` returns nil) and removes the socket file.
    public func shutdown() {
        unlink(path)
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    deinit { close(fd) }

    /// Connects a new seqpacket socket to `path`; the fd, or nil when nobody listens there.
    static func connectClient(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = address(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        if connected { return fd }
        close(fd)
        return nil
    }

    private static func address(_ path: String) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        return address
    }

    /// Whether a service listens at `path`.
    private static func answers(_ path: String) -> Bool {
        guard let probe = connectClient(path) else { return false }
        close(probe)
        return true
    }
}

/// One VMM's connection: records in, nothing out.
public final class RecordConnection: Sendable {
    private let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// The connected process (from the kernel, not from anything it sent).
    public var peerPID: Int32? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (it needs _GNU_SOURCE, which Glibc's module lacks).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.pid > 0 else { return nil }
        return credentials.pid
    }

    public enum Next {
        case record(CaptureRecord)
        case malformed(CaptureRecord.Malformed)
        /// The VMM closed it (exited or died), or `stop()` was called.
        case end
    }

    /// Waits for the next record.
    public func next() -> Next {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                      UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { bytes in
            while true {
                // MSG_TRUNC: the datagram's real length, so an oversized one is named, not cut.
                let count = recv(fd, bytes.baseAddress, bytes.count, Int32(MSG_TRUNC))
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return .end }
                do throws(CaptureRecord.Malformed) {
                    guard count <= bytes.count else {
                        throw CaptureRecord.Malformed(detail: "a datagram of \(count) bytes (a record is \(CaptureRecord.size))")
                    }
                    return .record(try CaptureRecord(UnsafeRawBufferPointer(rebasing: bytes[..<count])))
                } catch {
                    return .malformed(error)
                }
            }
        }
    }

    /// Whether `stop()` cut this connection short. Guarded: set by the thread
    /// that stops the service, read by the connection's own thread at its end.
    private let stopped = PlainLocked(false)

    /// Whether the service ended this recording while its VMM was still connected.
    public var stoppedByService: Bool { stopped.withLock { $0 } }

    /// The service is stopping: a VMM still connected is cut off — what it already
    /// sent is still read, then a blocked `next()` returns `.end` and its further
    /// sends fail, so the VMM carries on unrecorded. A VMM that has hung up
    /// already (exited or died) is left to be read to its own end, which says
    /// how it ended. Returns whether the connection was cut off.
    @discardableResult
    public func stop() -> Bool {
        var probe = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        // The kernel sets POLLHUP on a seqpacket socket whose peer closed it.
        let hungUp = poll(&probe, 1, 0) == 1 && probe.revents & Int16(POLLHUP) != 0
        guard !hungUp else { return false }
        stopped.withLock { $0 = true }
        _ = shutdown(fd, Int32(SHUT_RD))
        return true
    }

    deinit { close(fd) }
}
