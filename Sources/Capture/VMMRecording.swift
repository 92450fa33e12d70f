import Foundation
import JournalStore
import MemoryModel
import Memslots
import Sync

/// What a recording saw of its VMM, beyond the journal's transactions and faults.
public struct CaptureStatistics: Hashable, Sendable {
    public var records = 0
    public var memslotCalls = 0
    public var dirtyLogCalls = 0
    public var vcpus = 0
    public var mmioExits = 0
    public var spuriousFaults = 0
    public var deviceExits = 0
    public var internalErrors = 0
    /// Exit records the interposer dropped because the socket was full.
    public var droppedExits = 0
    /// Whether the VMM said goodbye (exited normally) before its connection ended.
    public var goodbye = false
    /// The transaction the VMM died in the middle of, recorded as cut off.
    public var cutOff: UInt64?
    public init() {}
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
    public private(set) var statistics = CaptureStatistics()

    /// Creates the journal at `path` (which must not exist).
    public init(path: String, header: JournalHeader) throws(JournalError) {
        self.path = path
        recorder = try JournalRecorder(path: path, header: header)
    }

    public func receive(_ record: CaptureRecord) {
        statistics.records += 1
        statistics.droppedExits = max(statistics.droppedExits, Int(record.droppedExits))
        streamNs = max(streamNs, record.endNs)
        switch record.kind {
        case .hello, .createVM: break
        case .createVCPU:
            if record.result >= 0 { vcpus.insert(record.vcpu) }
            statistics.vcpus = vcpus.count
        case .setMemoryRegion, .setMemoryRegion2: memoryRegion(record)
        case .getDirtyLog, .clearDirtyLog: statistics.dirtyLogCalls += 1
        case .mmioExit, .internalError:
            if record.kind == .mmioExit { statistics.mmioExits += 1 }
            classifier.exit(.init(vcpu: Int(record.vcpu), gpa: record.gpa, isWrite: record.isWrite,
                                  beginNs: record.beginNs, endNs: record.endNs, internalError: record.kind == .internalError))
        case .goodbye: statistics.goodbye = true
        }
        apply(classifier.settle(openBeginNs: openBeginNs, seenNs: seenNs, nowNs: streamNs))
    }

    /// Ends the recording: the open transaction is closed — or, when the VMM
    /// died without saying goodbye, recorded as cut off — every held exit is
    /// classified and the journal is sealed.
    public func finish() throws(JournalError) -> CaptureStatistics {
        if statistics.goodbye {
            if let record = transactions.close() { closed(record) }
        } else if let record = transactions.close() {
            recorder.transactionCutOff(record)
            statistics.cutOff = record.sequence
        }
        apply(classifier.settleAll())
        try recorder.close()
        return statistics
    }

    private func memoryRegion(_ record: CaptureRecord) {
        statistics.memslotCalls += 1
        seenNs = max(seenNs, record.beginNs)
        let request: MemoryRegionCall.Request
        if record.size == 0 {
            request = .delete(gpa: record.gpa)
        } else if let range = try? GuestRange(start: record.gpa, size: record.size) {
            request = .set(range)
        } else {
            return  // KVM refuses such a range itself (EINVAL): nothing changed, nothing to replay
        }
        let (host, made) = backings.locate(record.userspaceAddress, size: record.size)
        if made { recorder.recordConfiguration(backings: backings.descriptors, regions: [:]) }
        let call = MemoryRegionCall(
            slot: SlotID(rawValue: record.slot), flags: SlotFlags(rawValue: record.flags), request: request, host: host,
            errno: record.result < 0 ? Int32(clamping: -record.result) : 0, timeNs: record.endNs,
            name: "ioctl#\(record.sequence)")
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
            case .device: statistics.deviceExits += 1
            case .internalError: statistics.internalErrors += 1
            }
        }
    }
}
