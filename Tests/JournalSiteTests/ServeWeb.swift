import CCaptureRecord
import Foundation
import Glibc
import Sync
import TestSupport
@testable import Capture

/// `memjournal serve` run as a user runs it, with what the web tests need
/// around it: its port, a plain HTTP client that sends any bytes, and a VMM
/// stand-in that feeds its socket the records an interposer would.
final class ServeWeb: @unchecked Sendable {
    // @unchecked: used from the test's own thread only.
    let process = Process()
    let dir: TemporaryDirectory
    let journals: String
    let socket: String
    let port: Int

    /// Starts `serve --http 127.0.0.1:0 --socket … --dir …` and waits for the port it printed.
    init(withSocket: Bool = true) throws {
        dir = makeTemporaryDirectory()
        journals = dir.file("journals")
        socket = dir.file("s.sock")
        try FileManager.default.createDirectory(atPath: journals, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: memjournalExecutable)
        process.arguments = ["serve", "--http", "127.0.0.1:0", "--dir", journals] + (withSocket ? ["--socket", socket] : [])
        FileManager.default.createFile(atPath: dir.file("serve.err"), contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("serve.err")))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            let said = (try? String(contentsOfFile: dir.file("serve.err"), encoding: .utf8)) ?? ""
            found = said.firstMatch(of: /on http:\/\/127\.0\.0\.1:(\d+)\//).flatMap { Int($0.1) }
            if found == nil { usleep(20_000) }
        }
        guard let found else {
            let said = (try? String(contentsOfFile: dir.file("serve.err"), encoding: .utf8)) ?? ""
            throw Failure(description: "serve printed no port: \(said)")
        }
        port = found
    }

    var errors: String { (try? String(contentsOfFile: dir.file("serve.err"), encoding: .utf8)) ?? "" }

    /// SIGTERM, then its exit status.
    func stop() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Sends `request` (raw bytes: any target, any method) and returns the status and body.
    func send(_ request: [UInt8]) throws -> (status: Int, body: [UInt8]) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): \(errno)") }
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            response += buffer[..<n]
        }
        guard let headerEnd = response.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw Failure(description: "no HTTP response: \(String(decoding: response.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: response[..<headerEnd.lowerBound], as: UTF8.self)
        guard let status = head.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "no status in \(head)")
        }
        return (status, Array(response[headerEnd.upperBound...]))
    }

    /// GET `target` (sent as given), closing the connection after the answer.
    func get(_ target: String) throws -> (status: Int, body: [UInt8]) {
        try send(Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
    }
}

/// What the interposer would send for a VMM: a hello, then memory-slot calls
/// that make transactions (each delete after an add closes one), then a goodbye.
final class VMMStandIn {
    let fd: Int32
    private var time: UInt64 = 1_000
    private var added = false

    init(_ socket: String) throws {
        guard let fd = RecordSocket.connectClient(socket) else { throw ServeWeb.Failure(description: "connect \(socket): \(errno)") }
        self.fd = fd
        send(.hello) { $0.result = Int64(getpid()) }
    }

    /// `count` more closed transactions: slot 0 at 1 MiB deleted and added again.
    func transactions(_ count: Int) {
        for _ in 0..<(added ? count : count + 1) {
            if added { region(size: 0) }
            region(size: 0x100000)
            added = true
        }
    }

    func goodbye() {
        send(.goodbye) { _ in }
        shutdown(fd, Int32(SHUT_RDWR))
    }

    deinit { close(fd) }

    private func region(size: UInt64) {
        send(.setMemoryRegion) {
            $0.slot = 0
            $0.gpa = 0x100000
            $0.size = size
            $0.userspace_addr = 0x7f00_0000_0000
        }
    }

    private func send(_ kind: CaptureRecord.Kind, _ fill: (inout memjournal_record) -> Void) {
        var raw = memjournal_record()
        raw.kind = kind.rawValue
        raw.version = UInt16(MEMJOURNAL_RECORD_VERSION)
        raw.guest_memfd = -1
        time += 1_000
        raw.begin_ns = time
        raw.end_ns = time + 500
        fill(&raw)
        _ = withUnsafeBytes(of: raw) { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
