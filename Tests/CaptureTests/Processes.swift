import Foundation
import TestSupport

/// Runs memjournal, QEMU and friends as separate processes, as a user would.
enum Processes {
    static let memjournal = memjournalExecutable

    /// A started process whose output goes to files in `dir`.
    final class Running: @unchecked Sendable {
        // @unchecked: `process` is used from the test's own thread only; the
        // type crosses no thread — it is Sendable so tests may hold it in closures.
        let process = Process()
        let out: String, err: String

        init(_ tool: String, _ arguments: [String], environment: [String: String] = [:], in dir: String) throws {
            let name = UUID().uuidString
            out = dir + "/\(name).out"
            err = dir + "/\(name).err"
            FileManager.default.createFile(atPath: out, contents: nil)
            FileManager.default.createFile(atPath: err, contents: nil)
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits (at most `seconds`, then kills it) and returns its exit status.
        /// A process killed for taking too long gets, at the end of its error
        /// output, where each of its threads and its children's threads waited.
        @discardableResult
        func wait(seconds: Double = 120) -> Int32 {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                let report = "\n[killed by the test after \(Int(seconds)) s; threads: \(Processes.threads(of: pid))]\n"
                if let handle = FileHandle(forWritingAtPath: err) {
                    handle.seekToEndOfFile()
                    handle.write(Data(report.utf8))
                    try? handle.close()
                }
                kill(pid, SIGKILL)
            }
            process.waitUntilExit()
            return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        }

        var output: String { (try? String(contentsOfFile: out, encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOfFile: err, encoding: .utf8)) ?? "" }
    }

    /// Each thread of `pid` and of its children: name, state and the kernel
    /// function it waits in (from /proc), to tell a stall from slow progress.
    static func threads(of pid: Int32) -> String {
        func read(_ path: String) -> String {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var lines = tasks.sorted().map { task in
            let stat = read("/proc/\(pid)/task/\(task)/stat")
            let state = stat.lastIndex(of: ")").map { stat[stat.index($0, offsetBy: 2)...].prefix(1) } ?? "?"
            return "\(pid)/\(task) \(read("/proc/\(pid)/task/\(task)/comm")) \(state) \(read("/proc/\(pid)/task/\(task)/wchan"))"
        }
        for task in tasks {
            for child in read("/proc/\(pid)/task/\(task)/children").split(separator: " ").compactMap({ Int32($0) }) {
                lines.append(threads(of: child))
            }
        }
        return lines.joined(separator: "; ")
    }

    /// Runs to completion: (status, stdout, stderr).
    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:], in dir: String,
                    seconds: Double = 120) throws -> (Int32, String, String) {
        let running = try Running(tool, arguments, environment: environment, in: dir)
        let status = running.wait(seconds: seconds)
        return (status, running.output, running.errors)
    }

    /// The environment that makes a VMM report to `socket`.
    static func interposed(socket: String) throws -> [String: String] {
        ["LD_PRELOAD": try RealVMM.interposer.get(), "MEMJOURNAL_SOCKET": socket]
    }
}
