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

    /// How long (in the VMM's stream time) an exit waits for the transactions
    /// around it: long enough for a listener thread descheduled on a loaded host
    /// between its ioctl and its send, so a spurious exit is not judged a device
    /// exit before its transaction arrives.
    static let patienceNs: UInt64 = 1_000_000_000
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

    /// Judges an exit against the closed transactions its `KVM_RUN` overlapped,
    /// nearest to the exit first (the access that exited was the run's last act).
    /// Windows are in commit order and never overlap one another (one listener),
    /// so the latest one begun before the exit is found by bisection and the
    /// overlapping ones lie just before it: the cost is the run's length in
    /// transactions, not the number of windows kept.
    private func classify(_ exit: Exit) -> Verdict {
        var low = 0, high = windows.count  // the first window begun after the exit ended
        while low < high {
            let middle = (low + high) / 2
            if windows[middle].beginNs <= exit.endNs { low = middle + 1 } else { high = middle }
        }
        let latest = low > 0 ? windows[low - 1].sequence : nil
        if exit.internalError { return .internalError(transaction: latest) }
        var index = low - 1
        // MMIO exits are in the vCPU's normal address space (0).
        while index >= 0, windows[index].endNs >= exit.beginNs {
            let window = windows[index]
            if window.before.slot(containing: exit.gpa, addressSpace: 0) != nil,
               window.after.slot(containing: exit.gpa, addressSpace: 0) != nil {
                return .spurious(SpuriousFault(vcpu: exit.vcpu, gpa: exit.gpa, isWrite: exit.isWrite, timeNs: exit.endNs,
                                               transactionInFlight: window.sequence))
            }
            index -= 1
        }
        return .device(transaction: latest)
    }
}
