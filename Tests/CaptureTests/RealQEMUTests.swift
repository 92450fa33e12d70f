import Foundation
import Analysis
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Sync
import Testing
import TestSupport

extension LiveQEMU {
    /// Debian's real QEMU 7.2, recorded live through the interposer: what `capture`
    /// sees equals what QEMU's own trace says, and the race it records is real.
    @Suite struct RealQEMUTests {
        /// Slot operations compared field by field (times differ by channel).
        static func operations(_ records: [TransactionRecord]) -> [[String]] {
            records.map { $0.slotOps.map { "\($0.kind) \($0.slot) \($0.flags.rawValue) \($0.range) \($0.host) \($0.errno)" } }
        }

        /// Where two channels' histories of one run first part, or nil when they agree
        /// transaction by transaction (operations field by field, decision, digest):
        /// the counts and the transactions around the first difference, side by side.
        static func difference(_ left: [TransactionRecord], _ right: [TransactionRecord],
                               _ names: (String, String) = ("captured", "traced")) -> String? {
            func facts(_ record: TransactionRecord) -> String {
                "\(operations([record])[0]) \(record.decision.overlaps ? "overlap" : "no overlap") \(record.digest)"
            }
            guard let first = zip(left, right).enumerated().first(where: { facts($1.0) != facts($1.1) })?.offset
                ?? (left.count == right.count ? nil : min(left.count, right.count))
            else { return nil }
            let around = max(0, first - 1)..<(first + 2)
            func show(_ records: [TransactionRecord]) -> String {
                around.filter { $0 < records.count }.map { "#\(records[$0].sequence) \(facts(records[$0]))" }.joined(separator: "; ")
            }
            return "\(names.0) \(left.count) transactions, \(names.1) \(right.count); first difference at index \(first): "
                + "\(names.0) [\(show(left))] vs \(names.1) [\(show(right))]"
        }

        /// Captures `arguments` (QEMU's, with a trace to `trace`) and imports the trace.
        func captureWithTrace(_ qemu: [String], dir: TemporaryDirectory, name: String)
            throws -> (status: Int32, errors: String, captured: JournalContents, traced: JournalContents)
        {
            let journal = dir.file("\(name).journal")
            let (status, _, errors) = try Processes.run(
                Processes.memjournal, ["capture", "-o", journal, "--"] + qemu,
                environment: ["MEMJOURNAL_INTERPOSER": try RealVMM.interposer.get()], in: dir.path)
            let captured = try JournalReader(path: journal).contents()
            let traced = try QEMUTraceImporter.read(qemu[qemu.firstIndex(of: "-D")! + 1]).contents
            return (status, errors, captured, traced)
        }

        @Test func theCaptureAndQEMUsOwnTraceAgreeOperationByOperation() throws {
            let dir = makeTemporaryDirectory()
            let qemu = try RealVMM.qemu()
            // SeaBIOS, stopped by timeout's SIGTERM (QEMU exits normally on it), through a wrapper that never opens /dev/kvm.
            let seabios = try captureWithTrace(
                ["/usr/bin/timeout", "5", qemu, "-enable-kvm", "-m", "128", "-nographic", "-no-reboot",
                 "-trace", "kvm_set_user_memory", "-D", dir.file("seabios.log")], dir: dir, name: "seabios")
            #expect(seabios.status == 124, "\(seabios.errors)")
            // Our firmware: hundreds of PAM toggles with a second vCPU running.
            let firmware = try captureWithTrace(
                [qemu] + RealVMM.firmwareArguments(try RealVMM.firmware(in: dir), trace: dir.file("firmware.log")),
                dir: dir, name: "firmware")
            #expect(firmware.status == RealVMM.firmwareExitStatus, "\(firmware.errors)")
            // SeaBIOS under a loaded machine may reach only its first few transactions in 5 s.
            #expect(seabios.captured.records.count >= 3)
            for run in [seabios, firmware] {
                #expect(Self.difference(run.captured.records, run.traced.records) == nil)
                #expect(run.captured.records.map(\.decision) == run.traced.records.map(\.decision))
                #expect(run.captured.backings == run.traced.backings)
                #expect(run.captured.cutOff.isEmpty && run.captured.header.cleanClose)
                #expect(run.captured.header.commandLine.starts(with: ["memjournal", "capture", "--"]))
                #expect(OutsideChannel(run.captured.header) == .capture && OutsideChannel(run.traced.header) == .qemuTrace)
                #expect(run.captured.header.comment?.contains("QEMU emulator version") == true)
            }
            #expect(firmware.captured.records.count > 400)
        }

        @Test func threeChannelsOneTruthCaptureTraceAndStraceOfOneRun() throws {
            let dir = makeTemporaryDirectory()
            let strace = "/usr/bin/strace"
            guard FileManager.default.isExecutableFile(atPath: strace) else {
                throw RealVMM.Missing(what: "strace (apt-get install strace)")
            }
            let log = dir.file("run.strace")
            let run = try captureWithTrace(
                [strace, "-f", "-ttt", "-e", "trace=ioctl", "-e", "kvm=vcpu", "-o", log, try RealVMM.qemu()]
                    + RealVMM.firmwareArguments(try RealVMM.firmware(in: dir), trace: dir.file("run.log")),
                dir: dir, name: "run")
            #expect(run.status == RealVMM.firmwareExitStatus, "\(run.errors)")
            let straced = try StraceImporter.read(log)
            #expect(straced.calls == run.traced.records.reduce(0) { $0 + $1.slotOps.count })
            #expect(Self.difference(straced.contents.records, run.traced.records, ("straced", "traced")) == nil)
            #expect(Self.difference(run.captured.records, run.traced.records) == nil)
            // strace saw the exits too, without their GPAs: MMIO exits inside the transaction windows.
            #expect((straced.exits["KVM_EXIT_MMIO"]?.inWindows ?? 0) > 0)
        }

        @Test func theRaceLiveSpuriousFaultsInUnprotectedTransactionsOnRAMAndNoneReplayedAtomically() throws {
            let dir = makeTemporaryDirectory()
            let journal = dir.file("race.journal")
            let qemu = try RealVMM.qemu()
            let (status, _, errors) = try Processes.run(
                Processes.memjournal,
                ["capture", "-o", journal, "--", qemu] + RealVMM.firmwareArguments(try RealVMM.firmware(in: dir)),
                environment: ["MEMJOURNAL_INTERPOSER": try RealVMM.interposer.get()], in: dir.path)
            #expect(status == RealVMM.firmwareExitStatus, "\(errors)")
            let contents = try JournalReader(path: journal).contents()
            #expect(contents.faults.count > 0, "\(errors)")

            let hazards = HazardAnalysis.analyse(contents.records)
            let unprotected = Set(hazards.transactions.filter { !$0.inhibited && !$0.windows.isEmpty }.map(\.sequence))
            var history = HistoryReducer()
            var ramBefore: [UInt64: MemslotMap] = [:]
            var ramAfter: [UInt64: MemslotMap] = [:]
            for record in contents.records {
                ramBefore[record.sequence] = history.slots
                _ = history.apply(record)
                ramAfter[record.sequence] = history.slots
            }
            for fault in contents.faults {
                let sequence = try #require(fault.transactionInFlight)
                #expect(unprotected.contains(sequence), "fault at \(fault.gpa) in transaction \(sequence)")
                #expect(ramBefore[sequence]?.slot(containing: fault.gpa, addressSpace: 0) != nil)
                #expect(ramAfter[sequence]?.slot(containing: fault.gpa, addressSpace: 0) != nil)
            }

            func replayFaults(_ extra: [String]) throws -> Int {
                let (code, out, err) = try Processes.run(
                    Processes.memjournal,
                    ["replay", journal, "--backend", "kvm", "--mode", "slot-ops", "--vcpus", "2", "--json"] + extra, in: dir.path)
                #expect(code == 0 || code == 1, "\(err)")
                let match = try #require(out.firstMatch(of: /"spuriousFaults":(\d+)/), "\(out)\(err)")
                return Int(match.1)!
            }
            #expect(try replayFaults([]) > 0)
            #expect(try replayFaults(["--atomic"]) == 0)

            // The other read commands take a captured journal like any other.
            let (summaryStatus, summary, _) = try Processes.run(Processes.memjournal, ["inspect", journal, "summary"], in: dir.path)
            #expect(summaryStatus == 0 && summary.contains("captured") && summary.contains("it exited"), "\(summary)")
            #expect(summary.contains("\(contents.faults.count) spurious"), "\(summary)")
            let (hazardStatus, hazardText, _) = try Processes.run(
                Processes.memjournal, ["inspect", journal, "hazards", "--fail-on-hazard"], in: dir.path)
            #expect(hazardStatus == 1 && hazardText.contains("where a running vCPU takes a spurious fault"), "\(hazardText)")
            let (verifyStatus, _, _) = try Processes.run(Processes.memjournal, ["inspect", journal, "verify"], in: dir.path)
            #expect(verifyStatus == 0)
            let (exportStatus, _, exportErrors) = try Processes.run(
                Processes.memjournal, ["export", journal, "-o", dir.file("race.jsonl")], in: dir.path)
            #expect(exportStatus == 0, "\(exportErrors)")
        }
    }
}
