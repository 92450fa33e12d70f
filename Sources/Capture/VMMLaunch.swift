import Glibc
import JournalFormats
import JournalStore

/// Starting the command `capture` records, and its journal header.
public enum VMMLaunch {
    /// The header of a journal recorded live from `vmm`: the command words say
    /// `capture` and carry the VMM's own command line; the comment names its
    /// binary, version and pid.
    public static func header(for vmm: VMMIdentity, service: String) -> JournalHeader {
        let version = vmm.version.map { " (\($0))" } ?? ""
        return JournalHeader(
            backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil, seed: nil,
            commandLine: ["memjournal"] + OutsideChannel.capture.commandWords + ["--"] + vmm.arguments,
            comment: "recorded live by memjournal \(service) from \(vmm.binary)\(version), pid \(vmm.pid)")
    }

    /// Blocks SIGINT and SIGTERM in the calling thread — call before any other
    /// thread starts, so every thread inherits it — so `waitForExit` alone sees them.
    public static func holdSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts `arguments` (looked up in PATH) with the interposer preloaded and
    /// `MEMJOURNAL_SOCKET` set; signals are back to their defaults in the child.
    public static func start(_ arguments: [String], interposer: String, socket: String) throws(CaptureError) -> pid_t {
        var environment: [String] = []
        var preload = interposer
        for (key, value) in ProcessEnvironment.current {
            if key == "LD_PRELOAD" { preload = value.isEmpty ? interposer : interposer + ":" + value; continue }
            if key == CaptureRecord.socketVariable { continue }
            environment.append("\(key)=\(value)")
        }
        environment += ["LD_PRELOAD=\(preload)", "\(CaptureRecord.socketVariable)=\(socket)"]

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), defaults = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let rc = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, envp)
        guard rc == 0 else {
            if rc == ENOENT || rc == EACCES || rc == ENOTDIR { throw .commandNotFound(arguments[0]) }
            throw .system(call: "posix_spawnp", path: arguments[0], .init(rawValue: rc))
        }
        return pid
    }

    /// Waits for `pid`, passing SIGINT and SIGTERM (held by `holdSignals`) on to
    /// it; returns its exit status, or 128 + the signal that killed it.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
        while true {
            var status: Int32 = 0
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid {
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            if done < 0 && errno != EINTR { return 127 }
            let signal = sigtimedwait(&set, nil, &pause)
            if signal > 0 { kill(pid, signal) }
        }
    }
}

/// The process environment as (name, value) pairs.
enum ProcessEnvironment {
    static var current: [(String, String)] {
        var pairs: [(String, String)] = []
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                pairs.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
            }
            entry += 1
        }
        return pairs
    }
}
