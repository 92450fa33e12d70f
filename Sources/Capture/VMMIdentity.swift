import Foundation

/// Who a connected VMM is, read from `/proc` by its pid (the kernel's word, not
/// the VMM's): what names its journal and fills its header.
public struct VMMIdentity: Hashable, Sendable {
    public var pid: Int32
    /// Clock ticks since boot when the process started (with the pid, unique on this boot).
    public var startTicks: UInt64
    /// Its command line (argv).
    public var arguments: [String]
    /// The executable it runs.
    public var binary: String
    /// The first line `binary --version` printed, if any.
    public var version: String?

    /// Reads process `pid`; a process already gone leaves what could not be read empty.
    public init(pid: Int32) {
        self.pid = pid
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
        let afterName = stat.lastIndex(of: ")").map { stat[stat.index(after: $0)...] } ?? ""
        let fields = afterName.split(separator: " ")
        startTicks = fields.count > 19 ? UInt64(fields[19]) ?? 0 : 0
        let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if arguments.last == "" { arguments.removeLast() }
        binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? arguments.first ?? "?"
        version = Self.version(of: binary)
    }

    /// A VMM that never connected, known only by the command that was to start it.
    public init(commandLine: [String]) {
        pid = 0
        startTicks = 0
        arguments = commandLine
        binary = commandLine.first ?? "?"
        version = nil
    }

    /// The journal file name for this VMM: its command, pid and start time.
    public var journalName: String {
        let command = (binary as NSString).lastPathComponent.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        return "\(command.isEmpty ? "vmm" : command)-\(pid)-\(startTicks).journal"
    }

    /// VMMs known to answer `--version` by printing it and exiting; any other
    /// binary is not run (it may do anything with an unknown argument).
    static let answersVersion = ["qemu-system-", "qemu-kvm", "firecracker", "cloud-hypervisor", "crosvm", "lkvm"]

    /// The first line `binary --version` prints (within 2 s) for a known VMM, or nil.
    public static func version(of binary: String) -> String? {
        let name = (binary as NSString).lastPathComponent
        guard answersVersion.contains(where: { name.hasPrefix($0) }) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--version"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)
    }
}
