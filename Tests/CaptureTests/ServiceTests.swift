import Foundation
import JournalFormats
import JournalStore
import Sync
import Testing
import TestSupport
@testable import Capture

extension LiveQEMU {
    /// `memjournal serve` with real QEMUs: several at once, one killed, the service
    /// killed; and what capture and serve refuse.
    @Suite struct ServiceTests {
        /// Starts `serve` on a fresh socket and waits until it listens.
        func startService(_ dir: TemporaryDirectory) throws -> (Processes.Running, socket: String, journals: String) {
            let socket = dir.file("s.sock"), journals = dir.file("journals")
            let serve = try Processes.Running(Processes.memjournal, ["serve", "--socket", socket, "--dir", journals], in: dir.path)
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(20_000) }
            try #require(FileManager.default.fileExists(atPath: socket), "serve did not listen: \(serve.errors)")
            return (serve, socket, journals)
        }

        func journal(of pid: Int32, in dir: String) throws -> String {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            let name = try #require(names.first { $0.hasPrefix("qemu-system-x86_64-\(pid)-") && $0.hasSuffix(".journal") },
                                    "no journal for pid \(pid) in \(names)")
            return dir + "/" + name
        }

        @Test func threeQEMUsAtOnceGiveThreeJournalsEachEqualToItsOwnTrace() throws {
            let dir = makeTemporaryDirectory()
            let (serve, socket, journals) = try startService(dir)
            let image = try RealVMM.firmware(in: dir)
            let environment = try Processes.interposed(socket: socket)
            let qemus = try (0..<3).map { index in
                try Processes.Running(try RealVMM.qemu(), RealVMM.firmwareArguments(image, trace: dir.file("trace\(index).log")),
                                      environment: environment, in: dir.path)
            }
            for qemu in qemus { #expect(qemu.wait() == RealVMM.firmwareExitStatus, "\(qemu.errors)") }
            kill(serve.pid, SIGTERM)
            #expect(serve.wait(seconds: 30) == 0, "\(serve.errors)")
            for (index, qemu) in qemus.enumerated() {
                let captured = try JournalReader(path: try journal(of: qemu.pid, in: journals)).contents()
                let traced = try QEMUTraceImporter.read(dir.file("trace\(index).log")).contents
                #expect(RealQEMUTests.difference(captured.records, traced.records) == nil)
                #expect(captured.header.cleanClose && captured.cutOff.isEmpty)
            }
        }

        @Test func aQEMUKilledMidRunIsCutOffWhileTheOthersFinishAndAKilledServiceStopsNoQEMU() throws {
            let dir = makeTemporaryDirectory()
            let (serve, socket, journals) = try startService(dir)
            let short = try RealVMM.firmware(in: dir), long = try RealVMM.firmware(in: dir, toggles: 20_000)
            let environment = try Processes.interposed(socket: socket)
            let victim = try Processes.Running(try RealVMM.qemu(), RealVMM.firmwareArguments(long), environment: environment,
                                               in: dir.path)
            let others = try (0..<2).map { _ in
                try Processes.Running(try RealVMM.qemu(), RealVMM.firmwareArguments(short), environment: environment, in: dir.path)
            }
            usleep(1_500_000)
            kill(victim.pid, SIGKILL)
            #expect(victim.wait() == 128 + SIGKILL)
            for qemu in others { #expect(qemu.wait() == RealVMM.firmwareExitStatus, "\(qemu.errors)") }
            kill(serve.pid, SIGTERM)
            #expect(serve.wait(seconds: 30) == 0, "\(serve.errors)")
            let killed = try JournalReader(path: try journal(of: victim.pid, in: journals)).contents()
            #expect(killed.records.count > 0 && killed.cutOff.count == 1 && killed.header.cleanClose)
            #expect(try JournalReader(path: try journal(of: victim.pid, in: journals)).capture()?.end == .died)
            #expect(serve.errors.contains("pid \(victim.pid)") && serve.errors.contains("died without exiting"), "\(serve.errors)")
            for qemu in others {
                let finished = try JournalReader(path: try journal(of: qemu.pid, in: journals)).contents()
                #expect(finished.cutOff.isEmpty && finished.records.count > 400)
                let facts = try #require(try JournalReader(path: try journal(of: qemu.pid, in: journals)).capture())
                #expect(facts.end == .exited && facts.vmmPID == qemu.pid && facts.mmioExits >= finished.faults.count)
            }

            // Now the service dies (kill -9) under two running QEMUs: they run to their normal end.
            let second = makeTemporaryDirectory()
            let (service, socket2, journals2) = try startService(second)
            let image = try RealVMM.firmware(in: second, toggles: 6000)
            let running = try (0..<2).map { _ in
                try Processes.Running(try RealVMM.qemu(), RealVMM.firmwareArguments(image),
                                      environment: try Processes.interposed(socket: socket2), in: second.path)
            }
            // Both are being recorded (their journals exist) before the service dies.
            let deadline = Date().addingTimeInterval(30)
            while ((try? FileManager.default.contentsOfDirectory(atPath: journals2))?.filter { $0.hasSuffix(".journal") }.count ?? 0) < 2,
                  Date() < deadline {
                usleep(50_000)
            }
            usleep(500_000)
            kill(service.pid, SIGKILL)
            #expect(service.wait() == 128 + SIGKILL)
            for qemu in running { #expect(qemu.wait() == RealVMM.firmwareExitStatus, "\(qemu.errors)") }
            for qemu in running {
                let lost = try JournalReader(path: try journal(of: qemu.pid, in: journals2)).contents()
                #expect(!lost.header.cleanClose)  // the journal says its recording was cut short
                #expect(try JournalReader(path: try journal(of: qemu.pid, in: journals2)).capture()?.end == nil)
            }
        }

        @Test func badCommandsOutputsAndSocketsAreRefusedAndNothingIsOverwritten() throws {
            let dir = makeTemporaryDirectory()
            let environment = ["MEMJOURNAL_INTERPOSER": try RealVMM.interposer.get()]
            // CMD not found.
            let (missing, _, why) = try Processes.run(
                Processes.memjournal, ["capture", "-o", dir.file("m.journal"), "--", "no-such-vmm-here"],
                environment: environment, in: dir.path)
            #expect(missing == 66 && why.contains("no-such-vmm-here: command not found"), "\(why)")
            // A CMD that never opens /dev/kvm: an empty journal and its own status.
            let (plain, _, said) = try Processes.run(
                Processes.memjournal, ["capture", "-o", dir.file("e.journal"), "--", "/bin/sh", "-c", "exit 3"],
                environment: environment, in: dir.path)
            #expect(plain == 3 && said.contains("created no VM"), "\(said)")
            let empty = try JournalReader(path: dir.file("e.journal")).contents()
            #expect(empty.records.isEmpty && empty.header.cleanClose)
            // An existing output.
            let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("e.journal")))
            let (exists, _, refused) = try Processes.run(
                Processes.memjournal, ["capture", "-o", dir.file("e.journal"), "--", "/bin/true"], environment: environment,
                in: dir.path)
            #expect(exists == 74 && refused.contains("exists"), "\(refused)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir.file("e.journal"))) == before)

            // A socket a live service holds is refused; a stale one is reclaimed.
            let (serve, socket, _) = try startService(dir)
            let (taken, _, message) = try Processes.run(
                Processes.memjournal, ["serve", "--socket", socket, "--dir", dir.file("other")], in: dir.path, seconds: 20)
            #expect(taken == 64 && message.contains("already listening"), "\(message)")
            kill(serve.pid, SIGKILL)
            #expect(serve.wait() == 128 + SIGKILL)
            #expect(FileManager.default.fileExists(atPath: socket))  // left behind: stale
            let (again, socket2, _) = try startService(dir)
            #expect(socket2 == socket)
            kill(again.pid, SIGTERM)
            #expect(again.wait(seconds: 30) == 0, "\(again.errors)")
            // A path that is not a socket is left alone.
            _ = FileManager.default.createFile(atPath: dir.file("plain"), contents: Data("keep".utf8))
            #expect(throws: CaptureError.notASocket(path: dir.file("plain"))) { try RecordSocket(path: dir.file("plain")) }
            #expect(FileManager.default.contents(atPath: dir.file("plain")) == Data("keep".utf8))
        }

        @Test func ctrlCAndSIGTERMReachTheVMMAndItsJournalIsSealedAfterIt() throws {
            let dir = makeTemporaryDirectory()
            let journal = dir.file("t.journal")
            let capture = try Processes.Running(
                Processes.memjournal,
                ["capture", "-o", journal, "--", try RealVMM.qemu()]
                    + RealVMM.firmwareArguments(try RealVMM.firmware(in: dir, toggles: 20_000)),
                environment: ["MEMJOURNAL_INTERPOSER": try RealVMM.interposer.get()], in: dir.path)
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: journal) && Date() < deadline { usleep(20_000) }
            usleep(500_000)
            kill(capture.pid, SIGTERM)
            // QEMU ends on SIGTERM with status 0, which capture passes on.
            #expect(capture.wait(seconds: 60) == 0, "\(capture.errors)")
            let contents = try JournalReader(path: journal).contents()
            #expect(contents.header.cleanClose && contents.cutOff.isEmpty && contents.records.count > 0)
            #expect(try JournalReader(path: journal).capture()?.end == .exited)
        }

        @Test func aChildTheVMMForksRecordsNothingEvenIfItCreatesAVM() throws {
            let dir = makeTemporaryDirectory()
            // A VMM of our own that forks a helper; the helper opens /dev/kvm and creates a VM too.
            let source = dir.file("forker.c"), program = dir.file("forker")
            try """
                #include <fcntl.h>
                #include <linux/kvm.h>
                #include <sys/ioctl.h>
                #include <sys/wait.h>
                #include <unistd.h>
                static int vm(void) { int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC); return ioctl(kvm, KVM_CREATE_VM, 0); }
                int main(void) {
                    if (vm() < 0) return 2;
                    pid_t child = fork();
                    if (child == 0) _exit(vm() < 0 ? 3 : 0);
                    int status = 0;
                    waitpid(child, &status, 0);
                    return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
                }
                """.write(toFile: source, atomically: true, encoding: .utf8)
            try RealVMM.run("/usr/bin/cc", ["-o", program, source])
            let (serve, socket, journals) = try startService(dir)
            let (status, _, errors) = try Processes.run(program, [], environment: try Processes.interposed(socket: socket),
                                                        in: dir.path)
            #expect(status == 0, "\(errors)")
            usleep(200_000)
            kill(serve.pid, SIGTERM)
            #expect(serve.wait(seconds: 30) == 0)
            let names = try FileManager.default.contentsOfDirectory(atPath: journals)
            #expect(names.count == 1, "\(names)")  // the parent's alone
            // Hello, its VM, its goodbye: nothing from the child on the socket it inherited.
            let facts = try #require(try JournalReader(path: journals + "/" + names[0]).capture())
            #expect(facts.records == 3 && facts.end == .exited, "\(facts)")
            #expect(serve.errors.components(separatedBy: "→").count == 3, "\(serve.errors)")  // one 'pid → path' note and one summary
        }
    }
}
