import Foundation
import Memslots
import Replay
import Testing
import TestSupport
import Analysis
import JournalFormats
import JournalStore

/// The real SeaBIOS boot traces captured from Debian's QEMU 7.2 (see fixtures/qemu/README.md).
enum QEMUTraces {
    static let directory = Fixtures.directory + "/qemu"
    static let names = ["seabios-boot-qemu-7.2.log", "seabios-boot-qemu-7.2-no-timestamps.log"]

    static func source(_ name: String) throws -> ReplaySource {
        ReplaySource(try QEMUTraceImporter.read("\(directory)/\(name)").contents, name: name)
    }
}

@Suite struct QEMUTraceReplayTests {
    @Test(arguments: QEMUTraces.names)
    func realTraceImportsShowsHazardsAndReplaysOnSim(_ name: String) throws {
        let source = try QEMUTraces.source(name)
        #expect((source.records.count ?? 0) >= 5)
        let hazards = HazardAnalysis.analyse(source.records.inMemory)
        #expect(hazards.unprotected > 0, "QEMU 7.2 predates the atomic update: its PAM updates leave windows")
        let report = try ReplayEngine.run(source, options: ReplayOptions(mode: .slotOps))
        #expect(report.divergence == nil, "\(report.divergence.map { "\($0)" } ?? "")")
        #expect(report.applied == source.records.count)
    }

    @Test func importedTraceRoundTripsThroughAJournal() throws {
        let contents = try QEMUTraceImporter.read("\(QEMUTraces.directory)/\(QEMUTraces.names[0])").contents
        let journal = Fixtures.temporary("qemu.journal")
        defer { JournalSideFiles.removeAll(journal) }
        try contents.writeJournal(to: journal)
        let reader = try JournalReader(path: journal)
        #expect(try reader.records() == contents.records)
        #expect(try reader.backings() == contents.backings)
    }
}

@Suite(requiresKVM, .serialized)
struct QEMUTraceKVMTests {
    @Test func realTraceReplaysOnKVMFaultsAsRecordedNoneAtomic() throws {
        let source = try QEMUTraces.source(QEMUTraces.names[0])
        let plain = try ReplayEngine.run(source, options: ReplayOptions(backend: .kvm, mode: .slotOps))
        #expect(plain.divergence == nil, "\(plain.divergence.map { "\($0)" } ?? "")")

        var atomicOptions = ReplayOptions(backend: .kvm, mode: .slotOps, vcpus: 2, atomic: true)
        atomicOptions.intervalNs = 2_000_000
        let atomic = try ReplayEngine.run(source, options: atomicOptions)
        #expect(atomic.divergence == nil && atomic.vcpuFailure == nil)
        #expect(atomic.vcpuTargets > 0 && (atomic.statistics?.accesses ?? 0) > 0)
        #expect(atomic.statistics?.spuriousFaults == 0)

        // The windows are tens of µs: replay as recorded until a vCPU falls into one (bounded).
        var faults = 0
        var asRecordedOptions = ReplayOptions(backend: .kvm, mode: .slotOps, vcpus: 2)
        asRecordedOptions.intervalNs = 2_000_000
        for _ in 1...20 where faults == 0 {
            let asRecorded = try ReplayEngine.run(source, options: asRecordedOptions)
            #expect(asRecorded.divergence == nil && asRecorded.vcpuFailure == nil)
            faults = asRecorded.statistics?.spuriousFaults ?? 0
        }
        #expect(faults > 0)
    }
}
