import ArgumentParser
import Capture
import Foundation
import Glibc
import Sync

/// `memjournal serve --socket PATH --dir DIR`: the long-running journal service.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Journal every VMM that connects to a Unix socket, one journal per VMM process.",
        discussion: """
            Any dynamically linked VMM started with LD_PRELOAD=libmemjournal-interposer.so and \
            MEMJOURNAL_SOCKET=PATH connects when it creates its VM; its journal, \
            DIR/<command>-<pid>-<start time>.journal, is written as it runs by the same recorder as \
            record and capture. Many VMMs at once are fine. A VMM that dies mid-transaction leaves that \
            transaction cut off; SIGTERM or Ctrl-C seals every journal and exits. A socket path held by \
            a live service is refused; a stale one (nobody listening) is reclaimed.
            Examples:
              memjournal serve --socket /run/memjournal.sock --dir /var/lib/memjournal &
              MEMJOURNAL_SOCKET=/run/memjournal.sock LD_PRELOAD=.build/release/libmemjournal-interposer.so \\
                qemu-system-x86_64 -enable-kvm -m 1G …
            Exit codes: 0 after SIGTERM; 64 the socket path is taken or unusable; 74 DIR cannot be used.
            """)

    @Option(help: "The Unix socket to listen on.") var socket: String
    @Option(help: "The directory journals are written to (created if missing).") var dir: String

    func run() throws {
        var standardError = StandardError()
        VMMLaunch.holdSignals()
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            print("memjournal: cannot use \(dir) for journals: \(error.localizedDescription)", to: &standardError)
            throw ExitStatus.ioError
        }
        let listening: RecordSocket
        do {
            listening = try RecordSocket(path: socket)
        } catch {
            print("memjournal: \(error)", to: &standardError)
            throw ExitStatus.usage
        }
        let dir = dir
        let service = JournalService(
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
        // SIGINT and SIGTERM are held in every thread; this one takes them and stops the service.
        let signals = OSThread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 {}
            service.stop()
        }
        service.run()
        signals.join()
        printNote("stopped; every journal is sealed")
    }
}
