import Benchmark
import Capture
import CInterposerCost
import Foundation
import JournalFormats
import JournalStore
import Memslots
import Replay
import Sync

/// 12. Recording a real VMM: Debian's QEMU 7.2 running our PAM-toggling firmware
/// (firmware/pam-race.S, 400 toggles, 2 vCPUs) plain and under the interposer
/// with the journal service in this process (`capture` is a client of the same
/// code), alternating, 9 of each; what the interposer adds to one KVM_RUN and one
/// memslot ioctl; and the spurious exits per toggle as recorded and after an
/// atomic replay.
func realVMMRecordingBenchmarks() {
    guard kvmAvailability == nil else { return skipNote("real VMM recording (KVM)") }
    guard FileManager.default.isExecutableFile(atPath: RealVMM.qemu) else {
        return print("skipping real VMM recording: \(RealVMM.qemu) missing (apt-get install qemu-system-x86)")
    }
    // Plain and captured runs alternate, so both see the same machine state.
    Benchmark("12 QEMU firmware run, plain and under capture, alternating",
              configuration: runConfiguration([.plainRunMs, .capturedRunMs, .faultsPerToggle, .memslotRecordsLost,
                                               .exitRecordsDropped])) { benchmark in
        let firmware = try RealVMM.firmware()
        _ = try RealVMM.runQEMU(firmware, environment: [:])  // warm-up: page cache, QEMU's own start-up
        for _ in 0..<9 {
            var start = MonotonicClock.now()
            let plain = try RealVMM.runQEMU(firmware, environment: [:])
            benchmark.measurement(.plainRunMs, Int((MonotonicClock.now() - start) / 1_000_000))
            guard plain == 7 else { throw BenchmarkFailure.diverged("QEMU exited \(plain)") }

            let service = try RealVMM.Service()
            let trace = benchmarkDirectory.file("trace-\(UInt64.random(in: 0..<UInt64.max)).log")
            start = MonotonicClock.now()
            let status = try RealVMM.runQEMU(firmware, environment: service.environment, trace: trace)
            benchmark.measurement(.capturedRunMs, Int((MonotonicClock.now() - start) / 1_000_000))
            let finished = service.stop()
            guard status == 7, let finished, case .success(let statistics) = finished.result else {
                throw BenchmarkFailure.diverged("QEMU exited \(status); \(String(describing: finished))")
            }
            let traced = try QEMUTraceImporter.read(trace).events
            benchmark.measurement(.faultsPerToggle, statistics.spuriousFaults * 100 / RealVMM.toggles)
            benchmark.measurement(.memslotRecordsLost, traced - statistics.memslotCalls)
            benchmark.measurement(.exitRecordsDropped, statistics.facts.droppedExitRecords)
            try? FileManager.default.removeItem(atPath: trace)
            JournalSideFiles.removeAll(finished.path)
        }
    }
    Benchmark("12 replay of the capture --atomic, kvm vcpus=2",
              configuration: runConfiguration([.faultsPerToggle], iterations: 3)) { benchmark in
        let service = try RealVMM.Service()
        let status = try RealVMM.runQEMU(try RealVMM.firmware(), environment: service.environment)
        guard status == 7, let finished = service.stop() else { throw BenchmarkFailure.diverged("QEMU exited \(status)") }
        let contents = try JournalReader(path: finished.path).contents()
        let source = ReplaySource(name: finished.path, backings: contents.backings, records: contents.records,
                                  maxSlotSize: contents.header.maxSlotSize, inhibit: false, wait: .event)
        let report = try ReplayEngine.run(source, options: ReplayOptions(backend: .kvm, mode: .slotOps, vcpus: 2, atomic: true))
        if let divergence = report.divergence { throw BenchmarkFailure.diverged("\(divergence)") }
        benchmark.measurement(.faultsPerToggle, (report.statistics?.spuriousFaults ?? 0) * 100 / RealVMM.toggles)
    }

    for interposed in [false, true] {
        Benchmark("12 ioctl cost \(interposed ? "through the interposer" : "libc (reference)")",
                  configuration: runConfiguration([.kvmRunNs, .memslotIoctlNs])) { benchmark in
            let runs = 20_000, memslotOps = 2_000
            var runNs = [UInt64](repeating: 0, count: runs), memslotNs = [UInt64](repeating: 0, count: memslotOps)
            var error = [CChar](repeating: 0, count: 256)
            let service = interposed ? try RealVMM.Service() : nil
            // The interposer reads its socket from the environment when the VM is created.
            if let service { setenv(CaptureRecord.socketVariable, service.socket.path, 1) }
            let library = interposed ? try RealVMM.interposerCopy() : nil
            let rc = interposer_cost_run(library, Int32(runs), Int32(memslotOps), &runNs, &memslotNs, &error, error.count)
            unsetenv(CaptureRecord.socketVariable)
            _ = service?.stop()
            guard rc == 0 else {
                throw BenchmarkFailure.diverged(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            for ns in runNs { benchmark.measurement(.kvmRunNs, Int(ns)) }
            for ns in memslotNs { benchmark.measurement(.memslotIoctlNs, Int(ns)) }
        }
    }
}

extension BenchmarkMetric {
    static let plainRunMs = BenchmarkMetric.custom("QEMU run, plain (ms)", polarity: .prefersSmaller, useScalingFactor: false)
    static let capturedRunMs = BenchmarkMetric.custom("QEMU run, under capture (ms)", polarity: .prefersSmaller,
                                                      useScalingFactor: false)
    static let faultsPerToggle = BenchmarkMetric.custom("spurious exits per 100 PAM toggles", polarity: .prefersSmaller,
                                                        useScalingFactor: false)
    static let memslotRecordsLost = BenchmarkMetric.custom("memslot records lost", polarity: .prefersSmaller,
                                                           useScalingFactor: false)
    static let exitRecordsDropped = BenchmarkMetric.custom("exit records dropped", polarity: .prefersSmaller,
                                                           useScalingFactor: false)
    static let kvmRunNs = BenchmarkMetric.custom("KVM_RUN with an MMIO exit (ns)", polarity: .prefersSmaller,
                                                 useScalingFactor: false)
    static let memslotIoctlNs = BenchmarkMetric.custom("KVM_SET_USER_MEMORY_REGION (ns)", polarity: .prefersSmaller,
                                                       useScalingFactor: false)
}

/// Debian's QEMU, our firmware and our interposer, for §12.
enum RealVMM {
    static let qemu = "/usr/bin/qemu-system-x86_64"
    static let toggles = 400
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// firmware/pam-race.S, assembled once.
    static func firmware() throws -> String {
        let image = benchmarkDirectory.file("pam-race.bin")
        if FileManager.default.fileExists(atPath: image) { return image }
        let object = benchmarkDirectory.file("pam-race.o")
        try tool("/usr/bin/as", ["--32", "-o", object, repository + "/firmware/pam-race.S"])
        try tool("/usr/bin/ld", ["-m", "elf_i386", "-Ttext=0", "-e", "0", "--oformat=binary", "-o", image, object])
        return image
    }

    /// A fresh copy of the interposer, compiled from Sources/CInterposer as SwiftPM
    /// does in release (-O2), under a unique name: its state is per loaded copy.
    static func interposerCopy() throws -> String {
        let library = benchmarkDirectory.file("libmemjournal-interposer-\(UInt64.random(in: 0..<UInt64.max)).so")
        try tool("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", library, "-I", repository + "/Sources/CCaptureRecord/include",
                                 repository + "/Sources/CInterposer/interposer.c", "-ldl", "-lpthread"])
        return library
    }

    static var interposer: String {
        get throws {
            let library = benchmarkDirectory.file("libmemjournal-interposer.so")
            if !FileManager.default.fileExists(atPath: library) {
                let copy = try interposerCopy()
                try FileManager.default.moveItem(atPath: copy, toPath: library)
            }
            return library
        }
    }

    /// QEMU on the firmware; its exit status (7 when the firmware ran to its end).
    static func runQEMU(_ firmware: String, environment: [String: String], trace: String? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = ["-enable-kvm", "-machine", "pc", "-smp", "2", "-m", "64", "-bios", firmware, "-display", "none",
                             "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
            + (trace.map { ["-trace", "kvm_set_user_memory", "-D", $0] } ?? [])
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The journal service on a fresh socket, recording one VMM.
    final class Service: Sendable {
        let socket: RecordSocket
        let service: JournalService
        let thread: OSThread
        /// Guarded: set once by the service's thread, read after it is joined.
        let finished = PlainLocked<JournalService.Finished?>(nil)

        init() throws {
            let socket = try RecordSocket(path: benchmarkDirectory.file("s-\(UInt64.random(in: 0..<UInt64.max)).sock"))
            let finished = self.finished
            let service = JournalService(
                socket: socket, place: { _ in temporaryJournal("capture") },
                describe: { VMMLaunch.header(for: $0, service: "benchmark") },
                finished: { result in finished.withLock { $0 = result } })
            self.socket = socket
            self.service = service
            thread = OSThread { service.run() }
        }

        var environment: [String: String] {
            get throws { ["LD_PRELOAD": try RealVMM.interposer, CaptureRecord.socketVariable: socket.path] }
        }

        /// Stops the service once the VMM's recording has ended (or at once, for a VMM still connected).
        func stop() -> JournalService.Finished? {
            let deadline = MonotonicClock.now() + 5_000_000_000
            while finished.withLock({ $0 }) == nil && MonotonicClock.now() < deadline { usleep(10_000) }
            service.stop()
            thread.join()
            return finished.withLock { $0 }
        }
    }

    static func tool(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkFailure.diverged("\(path) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}
