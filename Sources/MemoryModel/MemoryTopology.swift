/// The machine's memory core: its address spaces and the transaction that batches
/// region changes (QEMU's `memory_region_transaction_begin/commit`).
///
/// Transactions nest; only the outermost commit re-renders the views and calls
/// the listeners. Owned by the thread that holds the topology lock.
public final class MemoryTopology {
    public private(set) var addressSpaces: [AddressSpace] = []
    public private(set) var depth = 0

    public init() {}

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case duplicateAddressSpace(UInt16)
        case commitWithoutBegin

        public var description: String {
            switch self {
            case .duplicateAddressSpace(let id): "address space \(id) already exists"
            case .commitWithoutBegin: "transaction commit without a matching begin"
            }
        }
    }

    /// Creates an address space rendered from `root`.
    @discardableResult
    public func addAddressSpace(id: UInt16, name: String, root: MemoryRegion) throws(Failure) -> AddressSpace {
        guard !addressSpaces.contains(where: { $0.id == id }) else { throw .duplicateAddressSpace(id) }
        let space = AddressSpace(id: id, name: name, root: root)
        addressSpaces.append(space)
        return space
    }

    public func addressSpace(id: UInt16) -> AddressSpace? { addressSpaces.first { $0.id == id } }

    public func begin() { depth += 1 }

    /// Ends one level of transaction; the outermost commit updates every address space.
    public func commit() throws(Failure) {
        guard depth > 0 else { throw .commitWithoutBegin }
        depth -= 1
        if depth == 0 {
            for space in addressSpaces { space.update() }
        }
    }

    /// Runs `body` inside a transaction, committing even when it throws.
    public func transaction<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        begin()
        defer { try? commit() }
        return try body()
    }
}
