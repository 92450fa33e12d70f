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
