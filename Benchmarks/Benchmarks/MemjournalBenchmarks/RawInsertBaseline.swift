import JournalStore
import Memslots

/// A measurement baseline: the same rows the recorder writes, inserted straight
/// from the calling thread — no queue, no writer thread, one SQLite transaction
/// per `batch` records (intent and outcome together). Used by `journal-bench`
/// to show what the recorder's queue and two-step commits cost.
enum RawInsertBaseline {
    /// Writes `records` into a new journal at `path`; returns the rows written.
    static func write(_ records: [TransactionRecord], to path: String, header: JournalHeader, batch: Int)
        throws -> Int
    {
        let database = try JournalFile.create(at: path, header: header)
        let rows = try JournalRows(database)
        var count = 0
        var start = 0
        while start < records.count {
            let end = min(records.count, start + batch)
            try database.transaction { () throws(SQLiteError) in
                for record in records[start..<end] {
                    try rows.insertIntent(record)
                    try rows.writeOutcome(record)
                    count += record.timing.drainTimeout == nil ? 2 : 3
                }
            }
            start = end
        }
        return count
    }
}
