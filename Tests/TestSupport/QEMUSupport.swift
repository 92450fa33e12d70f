import Foundation
import Sync
import Testing

/// Debian's QEMU, our firmware and our interposer, for the tests that record a
/// real VMM. They run wherever `/dev/kvm` opens (`requiresKVM`); there a missing
/// QEMU is a failure that says what to install, not a skip.
public enum RealVMM {
    /// Debian's qemu-system-x86_64 (`.ci/run` installs it).
    public static func qemu() throws -> String {
        for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: dir + "/qemu-system-x86_64") {
            return dir + "/qemu-system-x86_64"
        }
        throw Missing(what: "qemu-system-x86_64 (apt-get install qemu-system-x86)")
    }

    public struct Missing: Error, CustomStringConvertible {
        public var what: String
        public init(what: String) { self.what = what }
        public var description: String { "missing: \(what)" }
    }

    /// The repository's root (this file is Tests/TestSupport/QEMUSupport.swift).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Assembles firmware/pam-race.S (with `toggles` PAM writes) into `dir`; returns the image.
    public static func firmware(in dir: TemporaryDirectory, toggles: Int = 400) throws -> String {
        let source = repository + "/firmware/pam-race.S"
        let object = dir.file("pam-race-\(toggles).o"), image = dir.file("pam-race-\(toggles).bin")
        try run("/usr/bin/as", ["--32", "--defsym", "TOGGLES=\(toggles)", "-o", object, source])
        try run("/usr/bin/ld", ["-m", "elf_i386", "-Ttext=0", "-e", "0", "--oformat=binary", "-o", image, object])
        return image
    }

    /// The interposer `swift build` made beside the test bundle; where only the
    /// tests were built, the same source compiled with cc (once per process).
    public static let interposer: Result<String, Error> = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("libmemjournal-interposer.so").path
            if FileManager.default.fileExists(atPath: candidate) { return .success(candidate) }
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
            url.deleteLastPathComponent()
        }
        let built = sharedScratch.file("libmemjournal-interposer.so")
        return Result {
            try run("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", built,
                                    "-I", repository + "/Sources/CCaptureRecord/include",
                                    repository + "/Sources/CInterposer/interposer.c", "-ldl", "-lpthread"])
            return built
        }
    }()

    /// The arguments of a firmware run: 2 vCPUs, 64 MiB, isa-debug-exit (exit status 7).
    public static func firmwareArguments(_ image: String, trace: String? = nil) -> [String] {
        ["-enable-kvm", "-machine", "pc", "-smp", "2", "-m", "64", "-bios", image, "-display", "none", "-no-reboot",
         "-device", "isa-debug-exit,iobase=0xf4,iosize=4"] + (trace.map { ["-trace", "kvm_set_user_memory", "-D", $0] } ?? [])
    }

    /// The exit status the firmware ends QEMU with.
    public static let firmwareExitStatus: Int32 = 7

    /// Runs a tool to completion; throws with its output when it fails.
    public static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Missing(what: "\(tool) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
    }
}
