import Harness
import KVMBackend
import MemoryModel
import Memslots
import SystemPackage
import Sync

/// Why a replay could not even start.
public enum ReplayError: Error, CustomStringConvertible {
    case backend(String)
    case memoryLimit(requested: UInt64, limit: UInt64)
    case backing(BackingDescriptor, Errno)
    case noRoomForGuestCode
    case badOptions(String)

    public var description: String {
        switch self {
        case .backend(let why): "replay: \(why)"
        case .memoryLimit(let r, let l):
            "the journal's backings total \(r) bytes, above the replay limit of \(l); refusing to map them"
        case .backing(let b, let e): "cannot create backing \(b.id) (\(b.size) bytes): \(e)"
        case .noRoomForGuestCode:
            "--vcpus on KVM needs a free slot and a free 64 KiB below 4 GiB for the guest program; this journal uses them"
        case .badOptions(let why): why
        }
    }
}

/// Re-applies recorded transactions to a fresh VM and stops at the first place
/// where reality departs from the record.
public enum ReplayEngine {
    /// Replays `source`; `progress` (if any) hears (applied, total) after each
    /// transaction — total nil when the source knows it only once walked.
    public static func run(
        _ source: ReplaySource, options: ReplayOptions, progress: ((Int, Int?) -> Void)? = nil
    ) throws -> ReplayReport {
        do { try VCPULimit.check(options.vcpus, allowingNone: true) } catch {
            throw ReplayError.badOptions(error.description)
        }
        if options.steppingSeed != nil, options.backend != .sim || options.vcpus == 0 {
            throw ReplayError.badOptions("stepping vCPUs need the simulated backend and --vcpus of at least 1")
        }
        let total = source.backings.reduce(UInt64(0)) { $0 &+ $1.size }
        guard total <= options.memoryLimit, source.backings.allSatisfy({ $0.size <= options.memoryLimit }) else {
            throw ReplayError.memoryLimit(requested: total, limit: options.memoryLimit)
        }
        let backend: any MemslotBackend
        do { backend = try options.backend.make(memoryLimit: options.memoryLimit) } catch {
            throw ReplayError.backend(error.description)
        }
        for backing in source.backings {
            if case .failure(let errno) = backend.createBacking(backing) { throw ReplayError.backing(backing, errno) }
        }

        let replay = Replay(source: source, options: options, backend: backend)
        return try replay.run(progress: progress)
    }
}

/// One replay in progress.
private final class Replay {
    let source: ReplaySource
    let options: ReplayOptions
    let backend: any MemslotBackend
    let machine: Machine
    let feed: ListenerFeed
    var history = HistoryReducer()
    /// The slot replay added for its own guest program, left out of digests.
    var ownSlot: Memslot?

    init(source: ReplaySource, options: ReplayOptions, backend: any MemslotBackend) {
        self.source = source
        self.options = options
        self.backend = backend
        machine = Machine(
            backend: backend,
            configuration: Machine.Configuration(
                vcpus: max(options.vcpus, 1), wait: source.wait, inhibit: source.inhibit,
                maxSlotSize: source.maxSlotSize))
        feed = ListenerFeed(machine: machine, maxSlotSize: source.maxSlotSize, inhibit: source.inhibit)
    }

    func run(progress: ((Int, Int?) -> Void)?) throws -> ReplayReport {
        let watchdog = ReplayWatchdog(deadlineNs: options.deadlineNs)
        defer { watchdog.stop() }
        let vcpus = try startVCPUs()
        defer {
            // Stopping waits for every vCPU to leave KVM_RUN: under the deadline too.
            watchdog.begin(ReplayWatchdog.stoppingVCPUs)
            vcpus?.driver.stop()
            watchdog.end()
        }

        var report = ReplayReport(
            backend: options.backend, mode: options.mode, applied: 0, compared: 0, divergence: nil, finalDigest: nil,
            vcpus: options.vcpus, vcpuTargets: vcpus?.targets ?? 0, statistics: nil, elapsedNs: 0)
        let start = MonotonicClock.now()
        var expectedSequence: UInt64 = 1
        let total = source.records.count
        try source.records.forEach { record in
            // A history with a hole cannot be replayed faithfully past it (an
            // unverified journal with a transaction deleted or renumbered).
            guard record.sequence == expectedSequence else {
                report.divergence = Divergence(
                    sequence: expectedSequence, addressSpace: record.addressSpace, operation: nil, kind: .sequence,
                    expected: "transaction \(expectedSequence)",
                    actual: record.sequence > expectedSequence
                        ? "transaction \(record.sequence): \(record.sequence - expectedSequence) transaction(s) missing"
                        : "transaction \(record.sequence) out of order",
                    slotsAround: [], explanation: nil)
                return false
            }
            expectedSequence += 1
            watchdog.begin(record.sequence)
            // The committed map classifies the vCPUs' faults; without vCPUs nothing
            // reads it. Only the views are needed (the backend holds the slots).
            var view: [MemorySection]?
            if vcpus != nil {
                history.applySections(record.sections, addressSpace: record.addressSpace)
                view = history.view(record.addressSpace)
                machine.committedMap.beginChange(addressSpace: record.addressSpace, incoming: view ?? [])
            }
            let divergence: Divergence?
            let digest: SlotTableDigest
            switch options.mode {
            case .sections: (divergence, digest) = replaySections(record)
            case .slotOps: (divergence, digest) = replaySlotOps(record)
            }
            if let view { machine.committedMap.publish(addressSpace: record.addressSpace, sections: view) }
            watchdog.end()
            report.applied += 1
            report.finalDigest = digest
            progress?(report.applied, total)
            if let vcpus, vcpus.startAfter == record.sequence { vcpus.start() }
            if vcpus?.threaded == true { MonotonicClock.sleep(nanoseconds: options.intervalNs) }
            guard options.inRange(record.sequence) else { return true }
            report.compared += 1
            report.firstCompared = report.firstCompared ?? record.sequence
            report.lastCompared = record.sequence
            if let divergence {
                report.divergence = divergence
                return false
            }
            return true
        }
        report.elapsedNs = MonotonicClock.now() - start
        if let vcpus {
            watchdog.begin(ReplayWatchdog.stoppingVCPUs)
            vcpus.driver.stop()
            watchdog.end()
            report.statistics = vcpus.driver.statistics
            report.vcpuFailure = (vcpus.driver as? KVMVCPUs)?.fatalExit
        }
        return report
    }

    // MARK: sections mode

    private func replaySections(_ record: TransactionRecord) -> (Divergence?, SlotTableDigest) {
        guard let actual = feed.feed(record.sections, addressSpace: record.addressSpace) else {
            return (divergence(record, operation: nil, kind: .operation, expected: "a committed transaction",
                               actual: "the listener committed nothing", near: nil),
                    feed.digest(addressSpace: record.addressSpace))
        }
        if actual.decision.pair != record.decision.pair {
            return (divergence(record, operation: nil, kind: .decision, expected: record.decision.pair.text,
                               actual: actual.decision.pair.text, near: record.decision.pair?.deleted.start),
                    actual.digest)
        }
        if let mismatch = compareOperations(expected: record.slotOps, actual: actual.slotOps, record: record) {
            return (mismatch, actual.digest)
        }
        if actual.digest != record.digest {
            return (divergence(record, operation: nil, kind: .digest, expected: "\(record.digest)",
                               actual: "\(actual.digest)", near: nil), actual.digest)
        }
        return (nil, actual.digest)
    }

    private func compareOperations(expected: [SlotOperation], actual: [SlotOperation], record: TransactionRecord)
        -> Divergence?
    {
        for index in 0..<max(expected.count, actual.count) {
            guard index < expected.count else {
                return divergence(record, operation: index, kind: .operation, expected: "no operation",
                                  actual: "\(actual[index])", near: actual[index].range.start)
            }
            guard index < actual.count else {
                return divergence(record, operation: index, kind: .operation, expected: "\(expected[index])",
                                  actual: "no operation", near: expected[index].range.start)
            }
            var e = expected[index], a = actual[index]
            e.durationNs = 0
            a.durationNs = 0
            guard e != a else { continue }
            let onlyErrno = { () -> Bool in var x = e; x.errno = a.errno; return x == a }()
            return divergence(record, operation: index, kind: onlyErrno ? .errno : .operation, expected: "\(e)",
                              actual: "\(a)", near: e.range.start)
        }
        return nil
    }

    // MARK: slot-ops mode

    private func replaySlotOps(_ record: TransactionRecord) -> (Divergence?, SlotTableDigest) {
        // Without vCPUs there is nobody to inhibit.
        let inhibit = options.vcpus > 0 && (options.atomic || record.timing.inhibited)
        var first: Divergence?
        machine.topologyLock.withLock {
            let ticket = inhibit ? machine.blocker.inhibitBegin(drainDeadlineNs: machine.configuration.drainTimeoutNs) : nil
            defer { if let ticket { machine.blocker.inhibitEnd(ticket) } }
            for (index, op) in record.slotOps.enumerated() {
                let errno: Int32
                if op.slot.index == UInt16.max {
                    // Refused by the listener itself (no free slot index); never issued.
                    errno = op.errno
                } else {
                    let result = op.kind == .dirtyLog
                        ? backend.getDirtyLog(slot: op.slot).map { _ in () }
                        : backend.setUserMemoryRegion(op.request)
                    if case .failure(let e) = result { errno = e.rawValue } else { errno = 0 }
                }
                if errno != op.errno, first == nil {
                    var actual = op
                    actual.errno = errno
                    actual.durationNs = 0
                    var expected = op
                    expected.durationNs = 0
                    first = divergence(record, operation: index, kind: .errno, expected: "\(expected)",
                                       actual: "\(actual)", near: op.range.start)
                }
            }
        }
        let digest = replayedDigest(record.addressSpace)
        if let first { return (first, digest) }
        if digest != record.digest {
            return (divergence(record, operation: nil, kind: .digest, expected: "\(record.digest)",
                               actual: "\(digest)", near: nil), digest)
        }
        return (nil, digest)
    }

    private func divergence(_ record: TransactionRecord, operation: Int?, kind: Divergence.Kind, expected: String,
                            actual: String, near address: UInt64?) -> Divergence {
        let slots = replayedSlots(record.addressSpace)
        let explanation = operation.flatMap { index in
            index < record.slotOps.count
                ? Divergence.explain(record.slotOps[index], on: backend.capabilities, backend: backend.name) : nil
        }
        return Divergence(
            sequence: record.sequence, addressSpace: record.addressSpace, operation: operation, kind: kind,
            expected: expected, actual: actual, slotsAround: Divergence.neighbourhood(of: address, in: slots),
            explanation: explanation)
    }

    /// The backend's slots, without replay's own guest-code slot.
    private func replayedSlots(_ addressSpace: UInt16) -> [Memslot] {
        backend.installedSlots(addressSpace: addressSpace).filter { $0.id != ownSlot?.id }
    }

    /// Their digest, from the backend's running one.
    private func replayedDigest(_ addressSpace: UInt16) -> SlotTableDigest {
        var digest = backend.slotTableDigest(addressSpace: addressSpace)
        if let ownSlot, ownSlot.id.addressSpace == addressSpace { digest.remove(ownSlot) }
        return digest
    }

    // MARK: vCPUs

    struct RunningVCPUs {
        let driver: any VCPUDriver
        let targets: Int
        /// Start the vCPUs after this transaction (nil: they already run).
        let startAfter: UInt64?
        /// Set the vCPUs going: threads, or seeded steps between slot operations.
        let start: () -> Void
        /// Whether they run as threads (and need time between transactions).
        var threaded: Bool
    }

    private func startVCPUs() throws -> RunningVCPUs? {
        guard options.vcpus > 0 else { return nil }
        var (targets, validAfter) = try VCPUTargets.stayingMemory(source.records, options: options)
        // On KVM the guest program needs its own memory: the recorded code region if
        // the journal was recorded on KVM (the threads start once it is mapped), else
        // a free slot and range of our own.
        var startAfter: UInt64?
        if options.backend == .kvm {
            // Never let the guest write over its own program.
            let code = try GuestRange(start: GuestProgram.base, size: GuestProgram.regionSize)
            targets.removeAll { code.contains($0.gpa) }
        }
        let driver = try makeVCPUs(count: options.vcpus, machine: machine, targets: targets, observer: nil) { kvm in
            if let (sequence, location) = try recordedGuestCode() {
                startAfter = sequence
                return location
            }
            return try mapOwnGuestCode(kvm)
        }
        // Not before the targets are memory (see `VCPUTargets.stayingMemory`).
        if let validAfter { startAfter = max(startAfter ?? 0, validAfter) }
        var start = { driver.start() }
        if let seed = options.steppingSeed, let stepped = driver as? SimulatedVCPUs {
            start = { stepped.installStepping(seed: seed) }
        }
        if startAfter == nil { start() }
        return RunningVCPUs(driver: driver, targets: targets.count, startAfter: startAfter, start: start,
                            threaded: options.steppingSeed == nil)
    }

    /// The transaction that mapped the recorded guest-code region, and its memory.
    private func recordedGuestCode() throws -> (UInt64, BackingLocation)? {
        var found: (UInt64, BackingLocation)?
        try source.records.forEach { record in
            guard record.addressSpace == 0 else { return true }
            found = record.adds.lazy.filter {
                $0.regionName == GuestProgram.regionName && $0.range.start == GuestProgram.base
            }.compactMap(\.backing).first.map { (record.sequence, $0) }
            return found == nil
        }
        return found
    }

    private func mapOwnGuestCode(_ kvm: KVMBackend) throws -> BackingLocation {
        let index = UInt16(clamping: kvm.capabilities.maxSlots - 1)
        let range = try GuestRange(start: GuestProgram.base, size: GuestProgram.regionSize)
        var clash = false
        try source.records.forEach { record in
            clash = record.slotOps.contains {
                $0.slot.index == index || ($0.slot.addressSpace == 0 && $0.range.overlaps(range))
            }
            return !clash
        }
        guard !clash else { throw ReplayError.noRoomForGuestCode }
        // The lowest id the journal does not use (ids come from the file: max + 1 may not exist).
        let used = Set(source.backings.map(\.id))
        guard let id = (BackingID(0)...BackingID.max).first(where: { !used.contains($0) }) else {
            throw ReplayError.noRoomForGuestCode
        }
        let backing = BackingDescriptor(id: id, size: GuestProgram.regionSize)
        if case .failure(let e) = kvm.createBacking(backing) { throw ReplayError.backing(backing, e) }
        let location = BackingLocation(backing: id, offset: 0)
        let request = UserMemoryRegion(slot: SlotID(index: index, addressSpace: 0), flags: [],
                                       guestPhysAddr: range.start, memorySize: GuestProgram.regionSize, host: location)
        if case .failure(let e) = kvm.setUserMemoryRegion(request) { throw ReplayError.backing(backing, e) }
        ownSlot = Memslot(id: request.slot, range: range, host: location, flags: [])
        return location
    }
}
