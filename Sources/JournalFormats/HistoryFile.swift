import JournalStore
import Memslots
import Sync

/// A history read whole from either of its files: a journal (SQLite) or its
/// canonical JSONL text. What replay and `fixture check` read.
public enum HistoryFile {
    /// The contents of the journal or JSONL file at `path`. A journal is checked
    /// whole by `JournalVerifier` first unless `verify` is false, and a damaged
    /// one is refused with the verifier's words; a JSONL file is checked line by
    /// line as it is read, whatever `verify` says.
    /// `note` hears what opening the journal found worth telling (`JournalReader.notes`).
    public static func contents(of path: String, verify: Bool, note: (String) -> Void = { _ in })
        throws(JournalError) -> JournalContents
    {
        guard try isJournal(path) else { return try CanonicalJSONL.read(path) }
        return try reader(of: path, verify: verify, note: note).contents()
    }

    /// What a walk of the history at `path` needs, its transactions read as they
    /// are walked: a journal's (verified first unless `verify` is false) a window
    /// at a time, a JSONL file's a line at a time (checked whole first, whatever
    /// `verify` says). Memory does not grow with either (replay, diff).
    public static func records(of path: String, verify: Bool, note: (String) -> Void = { _ in }) throws(JournalError)
        -> (header: JournalHeader, backings: [BackingDescriptor], cutOff: Int, records: RecordSequence)
    {
        guard try isJournal(path) else { return try CanonicalJSONL.records(path) }
        let reader = try reader(of: path, verify: verify, note: note)
        return (try reader.header(), try reader.backings(), try reader.cutOffTransactions().count, try .journal(reader))
    }

    /// The journal at `path` opened read-only (an older schema migrated on a
    /// private copy, its notes passed to `note`), verified first unless `verify` is false.
    public static func reader(of path: String, verify: Bool, note: (String) -> Void = { _ in }) throws(JournalError)
        -> JournalReader
    {
        let reader = try JournalReader(path: path, migration: .onPrivateCopy)
        reader.notes.forEach(note)
        if verify { _ = try JournalVerifier.verify(reader) }
        return reader
    }

    /// The history at `path` as a journal that finds transactions by sequence: a
    /// journal opened as `reader(of:)` does, a canonical JSONL file imported into
    /// a private journal (checked whole as it is) in `scratch`, which the caller
    /// keeps as long as it reads. Memory does not grow with either (`reduce`).
    public static func indexed(_ path: String, verify: Bool, scratch: TemporaryDirectory,
                               note: (String) -> Void = { _ in }) throws(JournalError) -> WalkedHistory
    {
        let reader: JournalReader
        if try isJournal(path) {
            reader = try self.reader(of: path, verify: verify, note: note)
        } else {
            let imported = scratch.file("imported.journal")
            try CanonicalJSONL.importFile(path, to: imported)
            reader = try JournalReader(path: imported)
        }
        return WalkedHistory(header: try reader.header(), backings: try reader.backings(), records: try .journal(reader))
    }

    /// Whether `path` starts with SQLite's magic (else it is read as text).
    public static func isJournal(_ path: String) throws(JournalError) -> Bool {
        try JournalFile.firstBytes(path, count: 16) == Array("SQLite format 3\0".utf8)
    }
}
