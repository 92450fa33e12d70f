import ArgumentParser
import Capture
import Foundation
import Glibc
import JournalSite
import Sync

/// `memjournal serve [--socket PATH] [--http [HOST:]PORT] --dir DIR`: the
/// long-running journal service and its web view.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Journal every VMM that connects to a Unix socket, and show a directory of journals over HTTP.",
        discussion: """
            With --socket: any dynamically linked VMM started with \
            LD_PRELOAD=libmemjournal-interposer.so and MEMJOURNAL_SOCKET=PATH connects when it creates \
            its VM; its journal, DIR/<command>-<pid>-<start time>.journal, is written as it runs by the \
            same recorder as record and capture. Many VMMs at once are fine. A VMM that dies \
            mid-transaction leaves that transaction cut off. A socket path held by a live service is \
            refused; a stale one (nobody listening) is reclaimed.
            With --http (loopback only; port 0 picks a free one, printed on start): a page at / listing \
            the journals in DIR (VMM, size, transactions, faults, unprotected windows, still recording, \
            sealed or cut off) that updates itself while they grow; /journals/NAME is NAME's report; \
            the same data as JSON at /api/journals, /api/journals/NAME/summary, \
            /api/journals/NAME/transactions?from=&to= and /api/journals/NAME/map?at=N (what inspect \
            --json prints). Anything else is a 4xx with a message, and nothing outside DIR is read.
            SIGTERM or Ctrl-C seals every journal being written and exits.
            Examples:
              memjournal serve --socket /run/memjournal.sock --dir /var/lib/memjournal --http 8080 &
              MEMJOURNAL_SOCKET=/run/memjournal.sock LD_PRELOAD=.build/release/libmemjournal-interposer.so \\
                qemu-system-x86_64 -enable-kvm -m 1G …
              memjournal serve --http 127.0.0.1:8080 --dir fixtures/   (then open http://127.0.0.1:8080/)
              curl 'http://127.0.0.1:8080/api/journals/run.journal/transactions?from=1&to=50'
            Exit codes: 0 after SIGTERM; 64 no --socket or --http, the socket path is taken or unusable, \
            or the HTTP address is not loopback or cannot be bound; 74 DIR cannot be used.
            """)

    @Option(help: "The Unix socket VMMs connect to.") var socket: String?
    @Option(help: "Serve the web view on [HOST:]PORT (loopback only: 127.0.0.1 unless HOST is given).") var http: String?
    @Option(help: "The directory journals are written to and shown from (created if missing).") var dir: String

    func validate() throws {
        guard socket != nil || http != nil else { throw ValidationError("give --socket PATH, --http [HOST:]PORT or both") }
        if let http, HTTPAddress(http) == nil {
            throw ValidationError("--http \(http): expected [HOST:]PORT on a loopback address (127.0.0.1, ::1, localhost)")
        }
    }

    func run() throws {
        var standardError = StandardError()
        VMMLaunch.holdSignals()
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            print("memjournal: cannot use \(dir) for journals: \(error.localizedDescription)", to: &standardError)
            throw ExitStatus.ioError
        }
        let service: JournalService?
        if let socket {
            let listening: RecordSocket
            do {
                listening = try RecordSocket(path: socket)
            } catch {
                print("memjournal: \(error)", to: &standardError)
                throw ExitStatus.usage
            }
            let dir = dir
            service = JournalService(
                socket: listening,
                place: { vmm in
                    let path = dir + "/" + vmm.journalName
                    guard !FileManager.default.fileExists(atPath: path) else {
                        printNote("\(path) exists; pid \(vmm.pid) is not recorded")
                        return nil
                    }
                    printNote("pid \(vmm.pid) (\(vmm.arguments.joined(separator: " ").prefix(120))) → \(path)")
                    return path
                },
                describe: { VMMLaunch.header(for: $0, service: "serve") },
                finished: { printNote(CaptureSummary($0).description) })
            printNote("listening on \(socket), journals in \(dir); SIGTERM or Ctrl-C to stop")
        } else {
            service = nil
        }
        let web: WebView?
        do {
            web = try http.flatMap(HTTPAddress.init).map { address in
                try startWeb(address, recording: { service?.recording ?? [] })
            }
        } catch {
            service?.stop()  // removes the socket it bound: nothing is left behind
            throw error
        }
        // SIGINT and SIGTERM are held in every thread; this one takes them and stops the service.
        let signals = OSThread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 {}
            service?.stop()
            web?.stop()
        }
        service?.run()
        signals.join()
        printNote(service == nil ? "stopped" : "stopped; every journal is sealed")
    }

    /// Starts the web view of `dir`.
    private func startWeb(_ address: HTTPAddress, recording: @escaping @Sendable () -> Set<String>) throws -> WebView {
        #if HTTP
        do {
            let (server, port) = try WebServer.start(JournalSite(directory: dir, recording: recording),
                                                     host: address.host, port: address.port)
            let shown = address.host.contains(":") ? "[\(address.host)]" : address.host
            printNote("web view of \(dir) on http://\(shown):\(port)/")
            return server
        } catch {
            var standardError = StandardError()
            print("memjournal: cannot serve HTTP on \(address.host):\(address.port): \(error)", to: &standardError)
            throw ExitStatus.usage
        }
        #else
        var standardError = StandardError()
        print("memjournal: this build has no HTTP server (built without the HTTP trait)", to: &standardError)
        throw ExitStatus.usage
        #endif
    }
}

#if HTTP
typealias WebView = WebServer
#else
/// Stands in for the web server in a build without it (`serve --http` refuses to start there).
struct WebView {
    func stop() {}
}
#endif

/// `--http [HOST:]PORT`, loopback only: the service shows journals to this machine, not to a network.
struct HTTPAddress {
    var host: String
    var port: Int

    init?(_ text: String) {
        let host: Substring, port: Substring
        if let colon = text.lastIndex(of: ":") {
            host = text[..<colon].trimmingPrefix("[").dropLast(text[..<colon].hasSuffix("]") ? 1 : 0)
            port = text[text.index(after: colon)...]
        } else {
            host = "127.0.0.1"
            port = text[...]
        }
        guard let number = Int(port), (0...65535).contains(number) else { return nil }
        let loopback = host == "localhost" || host == "::1" || host.split(separator: ".").first == "127"
            && host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        guard loopback else { return nil }
        self.host = host == "localhost" ? "127.0.0.1" : String(host)
        self.port = number
    }
}
