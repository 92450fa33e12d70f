import Foundation
import Glibc
import JSON
import Sync

/// One page in Debian's headless Chromium, driven over the DevTools protocol on
/// a pipe (`--remote-debugging-pipe`: JSON messages ended by NUL on fds 3 and
/// 4), so a test can watch a page that keeps changing — evaluate expressions
/// in it at any moment — and hear its console, its uncaught exceptions and the
/// resources it failed to load.
public final class BrowserPage: @unchecked Sendable {
    // @unchecked: `nextID` and `session` are used by the test's thread only; the
    // reader thread touches nothing but `inbox`, which is locked.
    private let pid: pid_t
    private let commands: Int32
    private let replies: Int32
    private let scratch: TemporaryDirectory
    /// Replies by id and events in order, filled by the reader thread. Guarded.
    private let inbox = PlainLocked<(replies: [Int: JSONValue], events: [JSONValue], closed: Bool)>(([:], [], false))
    private var reader: OSThread?
    private var nextID = 0
    private var session = ""

    /// Starts Chromium, opens a blank page, listens to it, then loads `url`
    /// and waits until its document has loaded.
    public init(_ url: String) throws {
        scratch = try TemporaryDirectory(prefix: "memjournal-browser")
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Chromium.Failure(description: "pipe: \(errno)") }
        // Ours stay ours (pipe2 is not in Glibc's module): only the dup2'd copies reach Chromium.
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, scratch.file("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        let arguments = [Chromium.binary ?? "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--user-data-dir=\(scratch.file("profile"))", "--remote-debugging-pipe", "--window-size=1400,1000"]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard spawned == 0 else {
            close(toBrowser[1])
            close(fromBrowser[0])
            throw Chromium.Failure(description: "cannot start \(arguments[0]): \(spawned)")
        }
        pid = child
        commands = toBrowser[1]
        replies = fromBrowser[0]
        let inbox = self.inbox, replies = self.replies
        reader = OSThread { Self.read(replies, into: inbox) }

        let target = try call("Target.createTarget", [("url", .string("about:blank"))], inSession: false)
        guard case .string(let targetID)? = target["targetId"] else { throw failure("no target: \(target)") }
        let attached = try call("Target.attachToTarget", [("targetId", .string(targetID)), ("flatten", .bool(true))],
                                inSession: false)
        guard case .string(let sessionID)? = attached["sessionId"] else { throw failure("no session: \(attached)") }
        session = sessionID
        _ = try call("Runtime.enable", [])
        _ = try call("Log.enable", [])
        _ = try call("Page.enable", [])
        _ = try call("Page.navigate", [("url", .string(url))])
        try waitUntil("document.readyState === 'complete'")
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        reader?.join()
        close(replies)
    }

    /// The value of a JavaScript expression in the page (`returnByValue`).
    public func evaluate(_ expression: String) throws -> JSONValue {
        let reply = try call("Runtime.evaluate", [("expression", .string(expression)), ("returnByValue", .bool(true))])
        if let details = reply["exceptionDetails"] { throw failure("\(expression) threw: \(details.text.prefix(500))") }
        return reply["result"]?["value"] ?? .null
    }

    /// Waits until a JavaScript expression is true in the page.
    public func waitUntil(_ expression: String, seconds: Double = 30) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try evaluate(expression) == .bool(true) { return }
            usleep(50_000)
        }
        throw failure("\(expression) was still not true after \(Int(seconds)) s")
    }

    /// What the page's console said at level warning or error, its uncaught
    /// exceptions and the loads that failed, as text.
    public var problems: [String] {
        inbox.withLock { $0.events }.compactMap { event -> String? in
            switch event["method"] {
            case .string("Runtime.consoleAPICalled")?:
                guard case .string(let kind)? = event["params"]?["type"], kind == "error" || kind == "warning" || kind == "assert"
                else { return nil }
                return "console.\(kind): \(event["params"]?["args"]?.text.prefix(300) ?? "")"
            case .string("Runtime.exceptionThrown")?:
                return "exception: \(event["params"]?["exceptionDetails"]?.text.prefix(500) ?? "")"
            case .string("Log.entryAdded")?:
                guard case .string(let level)? = event["params"]?["entry"]?["level"], level == "error" || level == "warning"
                else { return nil }
                return "log \(level): \(event["params"]?["entry"]?.text.prefix(300) ?? "")"
            default: return nil
            }
        }
    }

    private func call(_ method: String, _ parameters: [(String, JSONValue)], inSession: Bool = true,
                      seconds: Double = 60) throws -> JSONValue {
        nextID += 1
        let id = nextID
        var message: [(String, JSONValue)] = [("id", .int(id)), ("method", .string(method)), ("params", .orderedObject(parameters))]
        if inSession { message.append(("sessionId", .string(session))) }
        var bytes = Array(JSONValue.orderedObject(message).text.utf8)
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("the browser stopped listening (\(method))") }
            written += n
        }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let (reply, closed) = inbox.withLock { state in (state.replies.removeValue(forKey: id), state.closed) }
            if let reply {
                if let error = reply["error"] { throw failure("\(method): \(error.text)") }
                return reply["result"] ?? .null
            }
            if closed { throw failure("the browser exited during \(method)") }
            usleep(5_000)
        }
        throw failure("no answer to \(method) in \(Int(seconds)) s")
    }

    private func failure(_ what: String) -> Chromium.Failure {
        let log = (try? String(contentsOfFile: scratch.file("stderr"), encoding: .utf8)) ?? ""
        return Chromium.Failure(description: "\(what) (chromium said: \(log.suffix(400)))")
    }

    private static func read(_ fd: Int32, into inbox: PlainLocked<(replies: [Int: JSONValue], events: [JSONValue], closed: Bool)>) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            pending.append(contentsOf: buffer[..<n])
            while let end = pending.firstIndex(of: 0) {
                let message = try? JSONParser.parse(Array(pending[..<end]))
                pending.removeSubrange(...end)
                guard let message else { continue }
                inbox.withLock { state in
                    if case .number(let id)? = message["id"], let number = Int(id) {
                        state.replies[number] = message
                    } else {
                        state.events.append(message)
                    }
                }
            }
        }
        inbox.withLock { $0.closed = true }
    }
}

extension JSONValue {
    /// A member of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }
}
