import MemoryModel

/// One listener callback of a transaction, in the order it arrived.
public struct SectionChange: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case delete, add, nop
        case logStart = "log_start"
        case logStop = "log_stop"
    }

    public var kind: Kind
    public var section: MemorySection

    public init(_ kind: Kind, _ section: MemorySection) {
        self.kind = kind
        self.section = section
    }

    public var description: String { "\(kind.rawValue) \(section)" }
}

extension SectionChange {
    /// The callback a change between two flat views stands for.
    public init(_ change: ViewChange) {
        switch change {
        case .del(let s): self.init(.delete, s)
        case .add(let s): self.init(.add, s)
        case .nop(let s): self.init(.nop, s)
        case .logStart(let s): self.init(.logStart, s)
        case .logStop(let s): self.init(.logStop, s)
        }
    }

    /// Calls the listener callback this change records.
    public func deliver(to listener: any MemoryListener) {
        switch kind {
        case .delete: listener.regionDel(section)
        case .add: listener.regionAdd(section)
        case .nop: listener.regionNop(section)
        case .logStart: listener.logStart(section)
        case .logStop: listener.logStop(section)
        }
    }
}
