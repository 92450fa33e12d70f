import Foundation
import JournalFormats
import JournalStore
import MemoryModel
import Memslots
import Testing
import TestSupport
@testable import Capture

/// A record stream turned into a journal: the same transactions as the trace
/// import of the same calls, faults where RAM vanished, cut off when the VMM died.
struct VMMRecordingTests {
    static let trace = RealVMM.repository + "/fixtures/qemu/seabios-boot-qemu-7.2.log"

    static func header() -> JournalHeader {
        JournalHeader(backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil,
                      seed: nil, commandLine: ["memjournal", "capture", "--", "test"])
    }

    static let facts = CaptureFacts(vmmPID: 4242, vmmBinary: "/usr/bin/qemu-system-x86_64", vmmVersion: nil)

    /// The fixture's calls as interposer records, one every 1000 ns.
    static func records(_ stream: inout RecordStream) throws -> [CaptureRecord] {
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        var records = [stream.make(.hello), stream.make(.createVM)]
        for (index, line) in text.split(separator: "\n").enumerated() {
            guard let event = try QEMUTraceLine.parse(line, line: index + 1) else { continue }
            records.append(stream.region(slot: event.slot, gpa: event.gpa, size: event.size, ua: event.userspaceAddress,
                                         flags: event.flags, at: UInt64(records.count) * 1000, result: Int64(event.ret)))
        }
        return records
    }

    @Test func aStreamOfCallsGivesTheTransactionsOfTheTraceImport() throws {
        let dir = makeTemporaryDirectory()
        var stream = RecordStream()
        let recording = try VMMRecording(path: dir.file("c.journal"), header: Self.header(), facts: Self.facts)
        for record in try Self.records(&stream) { recording.receive(record) }
        recording.receive(stream.make(.goodbye))
        let statistics = try recording.finish()
        #expect(statistics.goodbye && statistics.cutOff == nil)
        #expect(try JournalReader(path: dir.file("c.journal")).capture()?.end == .exited)
        let captured = try JournalReader(path: dir.file("c.journal")).contents()
        let imported = try QEMUTraceImporter.read(Self.trace).contents
        #expect(captured.records.count == imported.records.count && captured.cutOff.isEmpty)
        #expect(captured.records.map(\.slotOps.count) == imported.records.map(\.slotOps.count))
        for (a, b) in zip(captured.records, imported.records) {
            for (x, y) in zip(a.slotOps, b.slotOps) {
                #expect(x.kind == y.kind && x.slot == y.slot && x.range == y.range && x.flags == y.flags
                    && x.host == y.host && x.errno == y.errno, "transaction \(a.sequence)")
            }
            #expect(a.decision == b.decision && a.digest == b.digest)
        }
        #expect(captured.backings == imported.backings)
    }

    @Test func aVMMThatDiesLeavesItsOpenTransactionCutOffAndRAMExitsBecomeFaults() throws {
        let dir = makeTemporaryDirectory()
        var stream = RecordStream()
        let recording = try VMMRecording(path: dir.file("d.journal"), header: Self.header(), facts: Self.facts)
        let ram: UInt64 = 0x7f00_0000_0000
        recording.receive(stream.make(.hello))
        recording.receive(stream.region(slot: 0, gpa: 0, size: 0x400000, ua: ram, at: 1000))
        // Transaction 2 deletes the slot and adds it back; an exit on its RAM in between.
        recording.receive(stream.region(slot: 0, gpa: 0, size: 0, ua: ram, at: 2000))
        recording.receive(stream.mmio(gpa: 0x200000, from: 1900, to: 2100))
        recording.receive(stream.mmio(gpa: 0xfed00000, from: 1900, to: 2100))  // a device (HPET): never RAM
        recording.receive(stream.region(slot: 0, gpa: 0, size: 0x400000, ua: ram, at: 2200))
        // Transaction 3 begins and the VMM dies before its add.
        recording.receive(stream.region(slot: 0, gpa: 0, size: 0, ua: ram, at: 3000))
        let statistics = try recording.finish()
        #expect(!statistics.goodbye && statistics.cutOff == 3)
        #expect(statistics.spuriousFaults == 1 && statistics.facts.deviceExits == 1 && statistics.facts.mmioExits == 2)
        let contents = try JournalReader(path: dir.file("d.journal")).contents()
        #expect(contents.records.map(\.sequence) == [1, 2] && contents.cutOff.map(\.sequence) == [3])
        #expect(contents.faults.map(\.transactionInFlight) == [2] && contents.faults.first?.gpa == 0x200000)
        #expect(contents.header.cleanClose)
        let facts = try #require(try JournalReader(path: dir.file("d.journal")).capture())
        #expect(facts.end == .died && facts.vmmPID == 4242 && facts.deviceExits == 1 && facts.mmioExits == 2)
        #expect(facts.exitsByTransaction == [2: .init(deviceExits: 1)] && facts.records == 7)
    }
}
