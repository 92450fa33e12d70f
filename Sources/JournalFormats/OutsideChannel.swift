import JournalStore
import Memslots

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

extension OutsideChannel {
    /// The header of a journal imported through this channel from the log at `path`.
    func importHeader(_ path: String) -> JournalHeader {
        JournalHeader(
            backend: "kvm", capabilities: .x86KVM, vcpus: 0, wait: .event, inhibit: false, scenario: nil, seed: nil,
            commandLine: ["memjournal"] + commandWords + [path], cleanClose: true)
    }

    /// The log at `path` as journal contents in memory: `walk` reads the log,
    /// handing each transaction over as it closes, and returns what else it
    /// found with the backings. Returns the contents and what the walk found.
    func importContents<Found>(
        _ path: String,
        _ walk: ((TransactionRecord) throws(JournalError) -> Void) throws(JournalError) -> (Found, backings: [BackingDescriptor])
    ) throws(JournalError) -> (contents: JournalContents, found: Found) {
        var records: [TransactionRecord] = []
        let (found, backings) = try walk { (record: TransactionRecord) throws(JournalError) in records.append(record) }
        let contents = JournalContents(
            header: importHeader(path), backings: backings, regions: [:], records: records, cutOff: [], faults: [],
            recorderStatistics: nil)
        return (contents, found)
    }

    /// Writes the log at `path` as a new journal at `output`: `walk` reads the
    /// log, handing each transaction over as it closes, and returns what else it
    /// found with the backings, which are known only once every host address was
    /// seen and so are written last. Memory does not grow with the log; a failure
    /// leaves nothing at `output`. Returns what the walk found and the
    /// transactions written.
    func importJournal<Found>(
        _ path: String, to output: String,
        _ walk: ((TransactionRecord) throws(JournalError) -> Void) throws(JournalError) -> (Found, backings: [BackingDescriptor])
    ) throws(JournalError) -> (found: Found, transactions: Int, backings: Int) {
        let builder = try JournalBuilder(path: output, header: importHeader(path))
        var transactions = 0
        let (found, backings) = try walk { (record: TransactionRecord) throws(JournalError) in
            try builder.add(record)
            transactions += 1
        }
        try builder.configuration(backings: backings, regions: [:])
        try builder.finish(statistics: nil)
        return (found, transactions, backings.count)
    }
}
