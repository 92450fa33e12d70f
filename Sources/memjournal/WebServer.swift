#if HTTP
import Dispatch
import Hummingbird
import JournalSite
import Logging
import NIOCore
import Sync

/// Carries `JournalSite`'s requests and answers over HTTP/1.1 (Hummingbird) for
/// `serve --http`. The site's work reads SQLite and blocks, so it runs on a
/// Dispatch queue, never on the server's event loops.
final class WebServer: Sendable {
    private let task: Task<Void, Never>
    /// How the server ended (nil while it runs). Guarded: set by the server task,
    /// read by `start`'s wait for the bind (an end before binding is its error).
    private let outcome: PlainLocked<Result<Void, any Error>?>
    /// Signalled once, when the server task has ended and stored `outcome`; `stop` waits on it.
    private let ended: DispatchSemaphore

    /// Starts serving `site` on `host:port` (port 0: any free port); returns once
    /// the socket is bound, with the port, or throws why it could not be bound.
    static func start(_ site: JournalSite, host: String, port: Int) throws -> (WebServer, port: Int) {
        // The bound port. Guarded: set by the server's on-bind hook before it signals
        // `ready`; read below once `ready` is signalled, or once the server ended
        // without an error (nil then: the port asked for is returned).
        let bound = PlainLocked<Int?>(nil)
        // Signalled once, by the on-bind hook. A server that ends without binding
        // never signals it: the wait below polls `outcome` for that.
        let ready = DispatchSemaphore(value: 0)
        var logger = Logger(label: "memjournal.http")
        logger.logLevel = .warning
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                let answer = await Self.answer(site, method: request.method.rawValue, target: request.head.path ?? "/")
                var headers = HTTPFields()
                headers[.contentType] = answer.contentType
                headers[.cacheControl] = "no-store"
                var buffer = ByteBuffer()
                if request.method != .head { buffer.writeBytes(answer.body) }
                return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: buffer))
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "memjournal"),
            onServerRunning: { channel in
                bound.withLock { $0 = channel.localAddress?.port }
                ready.signal()
            },
            logger: logger)
        let server = WebServer(application)
        // Bound, or ended before binding (the address is taken or not ours).
        while ready.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if let outcome = server.outcome.withLock({ $0 }) {
                if case .failure(let error) = outcome { throw error }
                break
            }
        }
        return (server, bound.withLock { $0 } ?? port)
    }

    private init(_ application: some ApplicationProtocol) {
        let outcome = PlainLocked<Result<Void, any Error>?>(nil), ended = DispatchSemaphore(value: 0)
        self.outcome = outcome
        self.ended = ended
        task = Task {
            do {
                try await application.run()
                outcome.withLock { $0 = .success(()) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            ended.signal()
        }
    }

    /// Stops serving (open requests finish) and waits until the socket is closed.
    func stop() {
        task.cancel()
        ended.wait()
    }

    private static func answer(_ site: JournalSite, method: String, target: String) async -> SiteResponse {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: site.respond(method: method, target: target)) }
        }
    }
}
#endif
