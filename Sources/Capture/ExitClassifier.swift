import Memslots

/// Decides, for each exit a VMM's vCPUs took, whether it was spurious — caused
/// by a memory-topology transaction that was not atomic — or a genuine device
/// access.
///
/// An MMIO exit is **spurious** when its GPA is covered by a slot both before
/// and after a transaction in flight while its `KVM_RUN` ran: RAM that vanished
/// for a moment. Any other MMIO exit is a device exit, counted against the last
/// transaction begun before it. Exits are held until every transaction that
/// could overlap them is known and closed (memory-slot records come in order
/// from the VMM's one listener thread; exit records from vCPU threads may
/// overtake them), or until the VMM's stream is `patienceNs` past them.
struct ExitClassifier {
    struct Exit {
        var vcpu: Int
        var gpa: UInt64
        var isWrite: Bool
        /// The `KVM_RUN` the exit ended.
        var beginNs: UInt64
        var endNs: UInt64
        var internalError: Bool
    }

    /// A closed transaction, with the slots before and after it.
    struct Window {
        var sequence: UInt64
        var beginNs: UInt64
        var endNs: UInt64
        var before: MemslotMap
        var after: MemslotMap
    }

    enum Verdict {
        case spurious(SpuriousFault)
        case device(transaction: UInt64?)
        case internalError(transaction: UInt64?)
    }

    /// How long an exit waits for the transactions around it.
    static let patienceNs: UInt64 = 100_000_000
    /// Closed transactions kept to classify late exits against.
    static let windowsKept = 4096

    private var windows: [Window] = []
    private var pending: [Exit] = []
    private var pendingHead = 0

    mutating func exit(_ exit: Exit) { pending.append(exit) }

    mutating func closed(_ window: Window) {
        windows.append(window)
        if windows.count > 2 * Self.windowsKept { windows.removeFirst(windows.count - Self.windowsKept) }
    }

    /// Classifies the held exits that can be: those that ended before the open
    /// transaction began (if any) and before `seenNs` (the start of the latest
    /// memory-slot call), or longer ago than the patience at `nowNs` (the latest
    /// time the VMM's records carried).
    mutating func settle(openBeginNs: UInt64?, seenNs: UInt64, nowNs: UInt64) -> [Verdict] {
        var verdicts: [Verdict] = []
        while pendingHead < pending.count {
            let exit = pending[pendingHead]
            let overlapsOpen = openBeginNs.map { exit.endNs >= $0 } ?? false
            let stale = nowNs >= exit.endNs &+ Self.patienceNs
            guard (exit.endNs < seenNs && !overlapsOpen) || stale else { break }
            verdicts.append(classify(exit))
            pendingHead += 1
        }
        compact()
        return verdicts
    }

    /// Classifies every held exit (the VMM is gone; no transaction will come).
    mutating func settleAll() -> [Verdict] {
        let verdicts = pending[pendingHead...].map(classify)
        pending.removeAll()
        pendingHead = 0
        return verdicts
    }

    private mutating func compact() {
        if pendingHead > 1024, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    private func classify(_ exit: Exit) -> Verdict {
        let overlapping = windows.filter { $0.beginNs <= exit.endNs && $0.endNs >= exit.beginNs }
        let latest = windows.last { $0.beginNs <= exit.endNs }?.sequence
        if exit.internalError { return .internalError(transaction: overlapping.last?.sequence ?? latest) }
        // MMIO exits are in the vCPU's normal address space (0).
        for window in overlapping
        where window.before.slot(containing: exit.gpa, addressSpace: 0) != nil
            && window.after.slot(containing: exit.gpa, addressSpace: 0) != nil {
            return .spurious(SpuriousFault(vcpu: exit.vcpu, gpa: exit.gpa, isWrite: exit.isWrite, timeNs: exit.endNs,
                                           transactionInFlight: window.sequence))
        }
        return .device(transaction: overlapping.last?.sequence ?? latest)
    }
}
