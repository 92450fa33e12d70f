import Foundation
import JournalStore
import MemoryModel
import Memslots
import Sync

/// What one VMM's recording holds: the journal's capture facts and the counts
/// the journal keeps in its transactions and faults.
public struct CaptureStatistics: Hashable, Sendable {
    public var facts: CaptureFacts
    public var memslotCalls = 0
    public var spuriousFaults = 0
    public var vcpus = 0
    /// Whether the VMM said goodbye (exited normally) before its connection ended.
    public var goodbye = false
    /// The transaction journaled as cut off (the recording ended inside it).
    public var cutOff: UInt64?
}

/// Turns one VMM's record stream into a journal, as it arrives.
///
/// Memory-region calls are grouped into transactions by `IoctlTransactions` (the
/// rule the QEMU trace import uses) and handed to a `JournalRecorder` — the same
/// crash-safe recorder as `record` — as each closes; host addresses become
/// backings through `HostBackings`; exits are classified by `ExitClassifier`.
/// One connection's thread owns an instance: it is not shared.
public final class VMMRecording {
    public let path: String
    private let recorder: JournalRecorder
    private var transactions = IoctlTransactions()
    private var backings = HostBackings()
    private var classifier = ExitClassifier()
    /// When the open transaction's first call began.
    private var openBeginNs: UInt64?
    /// The slots before the open transaction.
    private var slotsBefore = MemslotMap()
    /// The start of the latest memory-slot call received.
    private var seenNs: UInt64 = 0
    /// The latest time any record carried: the stream's own clock (the recorder
    /// may lag behind the VMM, so its own clock says nothing about what is still to come).
    private var streamNs: UInt64 = 0
    private var vcpus: Set<UInt32> = []
    public private(set) var statistics: CaptureStatistics

    /// Creates the journal at `path` (which must not exist) for the VMM `facts` names.
    public init(path: String, header: JournalHeader, facts: CaptureFacts) throws(JournalError) {
        self.path = path
        recorder = try JournalRecorder(path: path, header: header)
        statistics = CaptureStatistics(facts: facts)
        recorder.recordCapture(facts)
    }

    public func receive(_ record: CaptureRecord) {
        statistics.facts.records += 1
        statistics.facts.droppedExitRecords = max(statistics.facts.droppedExitRecords, Int(record.droppedExits))
        streamNs = max(streamNs, record.endNs)
        switch record.kind {
        case .hello, .createVM: break
        case .createVCPU:
            if record.result >= 0 { vcpus.insert(record.vcpu) }
            statistics.vcpus = vcpus.count
        case .setMemoryRegion, .setMemoryRegion2: memoryRegion(record)
        case .getDirtyLog, .clearDirtyLog: statistics.facts.dirtyLogCalls += 1
        case .mmioExit, .internalError:
            if record.kind == .mmioExit { statistics.facts.mmioExits += 1 }
            classifier.exit(.init(vcpu: Int(record.vcpu), gpa: record.gpa, isWrite: record.isWrite,
                                  beginNs: record.beginNs, endNs: record.endNs, internalError: record.kind == .internalError))
        case .goodbye: statistics.goodbye = true
        }
        apply(classifier.settle(openBeginNs: openBeginNs, seenNs: seenNs, nowNs: streamNs))
    }

    /// Ends the recording: the open transaction is closed when the VMM exited
    /// (said goodbye), else recorded as cut off; every held exit is classified,
    /// the capture facts are written with how it ended and the journal is sealed.
    /// `stopped` says why the stream ended if the VMM did not end it (unless it said goodbye).
    public func finish(stopped: CaptureFacts.End? = nil) throws(JournalError) -> CaptureStatistics {
        let end = statistics.goodbye ? .exited : stopped ?? .died
        if end == .exited {
            if let record = transactions.close() { closed(record) }
        } else if let record = transactions.close() {
            recorder.transactionCutOff(record)
            statistics.cutOff = record.sequence
        }
        apply(classifier.settleAll())
        statistics.facts.end = end
        recorder.recordCapture(statistics.facts)
        try recorder.close()
        return statistics
    }

    private func memoryRegion(_ record: CaptureRecord) {
        statistics.memslotCalls += 1
        seenNs = max(seenNs, record.beginNs)
        // KVM refuses a range past 2^64 itself (EINVAL): nothing changed, nothing to replay.
        guard let request = MemoryRegionCall.Request(gpa: record.gpa, size: record.size) else { return }
        let (host, made) = backings.locate(record.userspaceAddress, size: record.size)
        if made { recorder.recordConfiguration(backings: backings.descriptors, regions: [:]) }
        let call = MemoryRegionCall(
            slot: SlotID(rawValue: record.slot), flags: SlotFlags(rawValue: record.flags), request: request, host: host,
            errno: record.result < 0 ? Int32(clamping: -record.result) : 0, timeNs: record.endNs,
            durationNs: record.endNs &- record.beginNs, name: "ioctl#\(record.sequence)")
        if let transaction = transactions.add(call) { closed(transaction) }
        if openBeginNs == nil { openBeginNs = record.beginNs }
    }

    private func closed(_ record: TransactionRecord) {
        recorder.transactionCommitted(record)
        let after = transactions.history.history.slots
        classifier.closed(.init(sequence: record.sequence, beginNs: openBeginNs ?? record.beginNs, endNs: record.commitNs,
                                before: slotsBefore, after: after))
        slotsBefore = after
        openBeginNs = nil
    }

    private func apply(_ verdicts: [ExitClassifier.Verdict]) {
        for verdict in verdicts {
            switch verdict {
            case .spurious(let fault):
                statistics.spuriousFaults += 1
                recorder.spuriousFault(fault)
            case .device(let sequence):
                statistics.facts.deviceExits += 1
                if let sequence { statistics.facts.exitsByTransaction[sequence, default: .init()].deviceExits += 1 }
            case .internalError(let sequence):
                statistics.facts.internalErrors += 1
                if let sequence { statistics.facts.exitsByTransaction[sequence, default: .init()].internalErrors += 1 }
            }
        }
    }
}
