import JournalStore

/// The channels that see a VMM from outside — its memory-region ioctls, not its
/// listener's callbacks — and how a journal header says which one wrote it: the
/// words after the program name in its command line.
public enum OutsideChannel: CaseIterable, Sendable {
    case qemuTrace, strace, capture

    public var commandWords: [String] {
        switch self {
        case .qemuTrace: ["import", "--format", "qemu-trace"]
        case .strace: ["import", "--format", "strace"]
        case .capture: ["capture"]
        }
    }

    /// The channel that wrote `header`; nil for a recording of memjournal's own listener
    /// (or a JSONL import of one), whose history is of listener callbacks.
    public init?(_ header: JournalHeader) {
        guard let channel = Self.allCases.first(where: { header.commandLine.dropFirst().starts(with: $0.commandWords) })
        else { return nil }
        self = channel
    }
}
