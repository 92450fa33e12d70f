import Memslots

/// A history as its header, its backings and its complete transactions, walked
/// whenever they are needed and never held whole: what `reduce` tests its input
/// and its candidates on, and how it writes them. It has no regions, no cut-off
/// transactions, no faults and no recorder statistics.
public struct WalkedHistory {
    public var header: JournalHeader
    public var backings: [BackingDescriptor]
    public var records: RecordSequence

    public init(header: JournalHeader, backings: [BackingDescriptor], records: RecordSequence) {
        self.header = header
        self.backings = backings
        self.records = records
    }

    /// The complete transactions of a history in memory (its faults and cut-off ones left out).
    public init(_ contents: JournalContents) {
        self.init(header: contents.header, backings: contents.backings, records: .memory(contents.records))
    }

    /// How many transactions it has: walked to count them when the sequence does not know.
    public func transactionCount() throws(JournalError) -> Int {
        if let count = records.count { return count }
        var cursor = records.makeCursor()
        var count = 0
        while try cursor.next() != nil { count += 1 }
        return count
    }
}

extension WalkedHistory: HistoryStream {
    public func head() throws(JournalError) -> HistoryHead {
        HistoryHead(header: header, backings: backings, regions: [:], recorderStatistics: .unrecorded,
                    transactions: try transactionCount(), faults: 0)
    }

    public func looseFaults() throws(JournalError) -> [NumberedFault] { [] }

    public func forEachTransaction(_ body: (HistoryItem) throws(JournalError) -> Void) throws(JournalError) {
        var cursor = records.makeCursor()
        while let record = try cursor.next() { try body(.complete(record, faults: [])) }
    }
}
