import ArgumentParser
import Capture
import Foundation
import JournalStore
import Sync

/// `memjournal capture -o J -- CMD ARGS…`: records an unmodified VMM live.
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Run a VMM under the ioctl interposer and journal its memory topology and spurious exits live.",
        discussion: """
            Starts CMD with libmemjournal-interposer.so preloaded (found next to this executable, or \
            at $MEMJOURNAL_INTERPOSER) and records it through the same service and recorder as serve: \
            its KVM_SET_USER_MEMORY_REGION calls grouped into listener transactions (the rule of the \
            QEMU trace import), host addresses as backings, and every MMIO exit classified — spurious \
            when its GPA is RAM both before and after the transaction in flight (journaled as a fault), \
            else a device exit (counted). Ctrl-C and SIGTERM reach CMD; the journal is sealed after it \
            exits. A VMM that dies without exiting leaves its open transaction cut off. A CMD that never \
            creates a VM gives an empty journal. CMD's exit status is passed on (128 + N for signal N).
            Examples:
              memjournal capture -o boot.journal -- qemu-system-x86_64 -enable-kvm -m 256 -nographic
              memjournal capture -o fw.journal -- qemu-system-x86_64 -machine pc -smp 2 -bios pam-race.bin
            Exit codes: CMD's own; 66 CMD not found or the interposer missing; 74 the output exists or \
            cannot be written.
            """)

    @Option(name: .shortAndLong, help: "The journal to create (never overwritten).") var output: String
    @Argument(parsing: .captureForPassthrough, help: "The VMM to run, with its arguments (after --).")
    var command: [String] = []

    func run() throws {
        var standardError = StandardError()
        let command = command.first == "--" ? Array(command.dropFirst()) : command
        guard !command.isEmpty else { throw ValidationError("give the VMM to run after --") }
        guard !FileManager.default.fileExists(atPath: output) else {
            print("memjournal: \(output) exists; capture never overwrites a file (choose another -o)", to: &standardError)
            throw ExitStatus.ioError
        }
        let interposer = try Interposer.path()
        VMMLaunch.holdSignals()
        let directory: TemporaryDirectory
        let socket: RecordSocket
        do {
            directory = try TemporaryDirectory(prefix: "memjournal-capture")
            socket = try RecordSocket(path: directory.file("recorder.sock"))
        } catch {
            print("memjournal: \(error)", to: &standardError)
            throw ExitStatus.ioError
        }
        let output = output
        // The first VMM CMD starts gets the journal; any other is let run unrecorded.
        let claimed = PlainLocked(false)
        // How the recording ended. Guarded: set once by the service's finished
        // callback on its thread, read here after the service has stopped.
        let outcome = PlainLocked<JournalService.Finished?>(nil)
        let service = JournalService(
            socket: socket,
            place: { vmm in
                let first = claimed.withLock { taken in defer { taken = true }; return !taken }
                if !first { printNote("pid \(vmm.pid) also created a VM; only the first VMM is captured") }
                return first ? output : nil
            },
            describe: { VMMLaunch.header(for: $0, service: "capture") },
            finished: { finished in outcome.withLock { $0 = finished } })
        let serving = OSThread { service.run() }

        let status: Int32
        do {
            let pid = try VMMLaunch.start(command, interposer: interposer, socket: socket.path)
            status = VMMLaunch.waitForExit(pid)
        } catch {
            service.stop()
            serving.join()
            print("memjournal: \(error)", to: &standardError)
            throw ExitStatus.noInput
        }
        // CMD is gone: take no new VMM, let the recording end with its connection.
        socket.shutdown()
        serving.join()

        guard let finished = outcome.withLock({ $0 }) else {
            try withJournalErrors {
                let header = VMMLaunch.header(for: VMMIdentity(commandLine: command), service: "capture")
                _ = try JournalRecorder(path: output, header: header).close()
            }
            print("memjournal: \(command[0]) created no VM; wrote an empty journal to \(output); it exited with \(status)",
                  to: &standardError)
            throw ExitCode(status)
        }
        print("memjournal: \(CaptureSummary(finished))", to: &standardError)
        if case .failure = finished.result { throw ExitStatus.ioError }
        throw ExitCode(status)
    }
}

/// The interposer library this memjournal runs with.
enum Interposer {
    static let fileName = "libmemjournal-interposer.so"

    /// $MEMJOURNAL_INTERPOSER, else the library beside this executable (where
    /// `swift build` puts both).
    static func path() throws -> String {
        let path = ProcessInfo.processInfo.environment["MEMJOURNAL_INTERPOSER"]
            ?? (Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent().path ?? ".") + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else {
            var standardError = StandardError()
            print("memjournal: the interposer \(path) is missing; build it (swift build) or set MEMJOURNAL_INTERPOSER",
                  to: &standardError)
            throw ExitStatus.noInput
        }
        return path
    }
}

/// One line on what a recording of a VMM holds.
struct CaptureSummary: CustomStringConvertible {
    var finished: JournalService.Finished

    init(_ finished: JournalService.Finished) { self.finished = finished }

    var description: String {
        let who = "pid \(finished.vmm.pid) (\((finished.vmm.binary as NSString).lastPathComponent))"
        switch finished.result {
        case .failure(let error): return "\(who): recording into \(finished.path) failed: \(error)"
        case .success(let s):
            var parts = ["\(who) → \(finished.path): \(s.memslotCalls) memslot call(s), \(s.spuriousFaults) spurious fault(s), "
                + "\(s.facts.deviceExits) device exit(s), \(s.facts.internalErrors) emulation failure(s), \(s.vcpus) vCPU(s)"]
            if s.facts.droppedExitRecords > 0 {
                parts.append("\(s.facts.droppedExitRecords) exit record(s) dropped by the interposer (its socket had no room for exits)")
            }
            if let malformed = finished.malformed { parts.append("stopped at a bad record: \(malformed)") }
            if !s.goodbye {
                parts.append(finished.stoppedByService
                    ? "the service stopped before the VMM ended"
                    : "the VMM died without exiting" + (s.cutOff.map { "; transaction \($0) is cut off" } ?? ""))
            }
            return parts.joined(separator: "; ")
        }
    }
}
