import JournalFormats
import JournalStore

/// `memjournal report J -o J.html`: a journal (or its JSONL form) as one
/// self-contained HTML page.
public enum HTMLReport {
    /// Writes the report of the history at `path` to `output` (never overwritten).
    public static func write(_ path: String, to output: String, verify: Bool = true, limits: ReportData.Limits = .init(),
                             note: (String) -> Void = { _ in }) throws(JournalError) {
        let html = try page(path, verify: verify, limits: limits, note: note)
        try TextFile.writeNew(Array(html.utf8), to: output)
    }

    /// The report of the history at `path`, as one HTML document. A journal is
    /// verified first unless `verify` is false, and what the check established
    /// is shown among the facts.
    public static func page(_ path: String, verify: Bool = true, limits: ReportData.Limits = .init(),
                            note: (String) -> Void = { _ in }) throws(JournalError) -> String {
        let history: any HistoryStream
        let integrity: String
        if try HistoryFile.isJournal(path) {
            let reader = try JournalReader(path: path, migration: .onPrivateCopy)
            reader.notes.forEach(note)
            if verify {
                let verification = try JournalVerifier.verify(reader)
                integrity = switch verification.chain {
                case .sealed: "verified: intact, hash chain sealed at the clean close"
                case .unsealed: "verified: intact, hash chain unsealed (the recording was cut short or is still being written)"
                case .unchained: "verified: intact, but written before the hash chain (schema 4 or older): not authenticated"
                }
            } else {
                integrity = "not verified (--no-verify)"
            }
            // Read a window at a time, twice.
            history = reader
        } else {
            history = try CanonicalJSONL.read(path)
            integrity = "canonical JSONL: checked line by line; no hash chain"
        }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return ReportPage.html(
            title: name, data: try ReportData.build(history, name: name, integrity: integrity, limits: limits))
    }
}
