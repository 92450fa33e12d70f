/// Groups a VMM's memory-region ioctls, seen from outside one at a time, into
/// listener transactions — the one rule every outside channel uses (the QEMU
/// trace import, a live capture):
///
/// QEMU's listener applies its delete pass before its add pass, so a new
/// transaction starts wherever a delete follows an add — and wherever the address
/// space changes (one listener per address space).
public struct IoctlTransactions: Sendable {
    /// The slot table and flat views after the transactions closed so far.
    public private(set) var history = IoctlHistory()
    /// The calls of the transaction still open, in order.
    public private(set) var open: [MemoryRegionCall] = []
    private var sawAdd = false
    /// The sequence the next transaction closed gets.
    public private(set) var nextSequence: UInt64 = 1

    public init() {}

    /// Takes the next call; returns the transaction it closed, if it began a new one.
    public mutating func add(_ call: MemoryRegionCall) -> TransactionRecord? {
        var closed: TransactionRecord?
        if let first = open.first, first.slot.addressSpace != call.slot.addressSpace { closed = close() }
        if case .delete = call.request, sawAdd { closed = close() }
        if case .set = call.request { sawAdd = true }
        open.append(call)
        return closed
    }

    /// Closes the open transaction (at the end of the history), if any.
    public mutating func close() -> TransactionRecord? {
        guard !open.isEmpty else { return nil }
        let record = history.transaction(open, sequence: nextSequence)
        nextSequence += 1
        open.removeAll()
        sawAdd = false
        return record
    }
}
