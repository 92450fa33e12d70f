import Harness
import JournalStore
import Memslots

/// What replay needs from a journal (or any other source of records).
public struct ReplaySource {
    public var name: String
    public var backings: [BackingDescriptor]
    /// Walked once to replay, and once more before that with vCPUs (to choose the memory they touch).
    public var records: RecordSequence
    /// Slot size bound the recording ran with.
    public var maxSlotSize: UInt64
    public var inhibit: Bool
    public var wait: WaitStrategy

    public init(name: String, backings: [BackingDescriptor], records: RecordSequence, maxSlotSize: UInt64,
                inhibit: Bool, wait: WaitStrategy) {
        self.name = name
        self.backings = backings
        self.records = records
        self.maxSlotSize = maxSlotSize
        self.inhibit = inhibit
        self.wait = wait
    }

    public init(name: String, backings: [BackingDescriptor], records: [TransactionRecord], maxSlotSize: UInt64,
                inhibit: Bool, wait: WaitStrategy) {
        self.init(name: name, backings: backings, records: .memory(records), maxSlotSize: maxSlotSize,
                  inhibit: inhibit, wait: wait)
    }

    /// What replay needs from a history walked on demand (a candidate of `reduce`).
    public init(_ history: WalkedHistory, name: String) {
        self.init(
            name: name, backings: history.backings, records: history.records,
            maxSlotSize: history.header.maxSlotSize, inhibit: history.header.inhibit, wait: history.header.wait)
    }

    /// What replay needs from a whole history in memory (read from canonical JSONL).
    public init(_ contents: JournalContents, name: String) {
        self.init(WalkedHistory(contents), name: name)
    }
}
