import Memslots
import Sync

/// What `memjournal inspect J verify` established about an intact journal.
public struct JournalVerification: Hashable, Sendable {
    public enum Chain: Hashable, Sendable {
        /// Every link recomputed and equal, and the seal too.
        case sealed
        /// Every link recomputed and equal; no seal, because the journal was not
        /// closed cleanly (cut short, or still being written).
        case unsealed
        /// Written before schema 5 (or deliberately without a chain): structure
        /// and values checked, contents not authenticated.
        case unchained
    }

    public var transactions: Int
    public var cutOff: Int
    public var faults: Int
    public var lastSequence: UInt64?
    public var chain: Chain
}

/// Checks a whole journal: SQLite's integrity check, every value against the
/// constraints its schema documents, sequence contiguity, cross-table
/// consistency, and the hash chain. The first problem is thrown as
/// `JournalError.damaged`, naming the transaction (or fault, or table) and what
/// is wrong with it; `replay`, `export` and `fixture check` use the same check
/// and the same words.
public enum JournalVerifier {
    /// Transactions decoded and hashed per read (bounds the memory held).
    static let window: UInt64 = 2048

    public static func verify(_ reader: JournalReader) throws(JournalError) -> JournalVerification {
        let path = reader.path
        func damaged(_ detail: String) -> JournalError { .damaged(path: path, detail: detail) }

        let integrity = try reader.query("PRAGMA integrity_check") { $0.text("integrity_check") }
        guard integrity == ["ok"] else { throw damaged("integrity_check: " + integrity.prefix(3).joined(separator: "; ")) }
        try checkConstraints(reader)

        // Sequences 1…N, each once.
        var expected: UInt64 = 1
        var cutOff = 0
        var firstCutOff: UInt64?
        try reader.forEachRow("SELECT sequence, outcome IS NULL AS cut_off FROM transactions ORDER BY sequence") {
            r throws(JournalError) in
            let raw = r.int64("sequence")
            guard raw >= 1 else { throw damaged("transaction \(raw): sequence numbers start at 1") }
            let sequence = UInt64(raw)
            guard sequence == expected else {
                let gap = expected == sequence - 1 ? "transaction \(expected)" : "transactions \(expected)…\(sequence - 1)"
                throw damaged(expected == 1
                    ? "\(gap) missing: the journal starts at \(sequence)"
                    : "\(gap) missing: \(expected - 1) is followed by \(sequence)")
            }
            if r.bool("cut_off") {
                cutOff += 1
                firstCutOff = firstCutOff ?? sequence
            } else if let firstCutOff {
                throw damaged("transaction \(firstCutOff) is cut off but the later transaction \(sequence) is complete; the recorder cuts off only the end of a journal")
            }
            expected += 1
        }
        let last: UInt64? = expected > 1 ? expected - 1 : nil
        try checkCrossTable(reader, lastSequence: last)

        let header = try reader.header()
        let stored = try reader.query("""
            SELECT chain_start, config_hash, seal, sealed_transactions, sealed_faults FROM journal_header WHERE id = 1
            """) { (start: $0.blobOrNil("chain_start"), configuration: $0.blobOrNil("config_hash"),
                    seal: $0.blobOrNil("seal"), transactions: $0.int64OrNil("sealed_transactions"),
                    faults: $0.int64OrNil("sealed_faults")) }[0]

        var chain: HashChain?
        if stored.start == nil {
            // Unchained is what a journal from before schema 5 is; a schema-5 journal
            // without its chain start had it removed (a writer never leaves it out).
            guard reader.originalVersion < 5 else {
                throw damaged("its hash chain's start was removed: journals of schema 5 and later are chained")
            }
        }
        if let start = stored.start {
            guard start == HashChain.start(for: header) else {
                throw damaged("the header differs from what was recorded: its identity no longer matches the hash chain's start")
            }
            let configuration = HashChain.configuration(start: start, backings: try reader.backings(), regions: try reader.regions())
            // The rows and their hash are written in one SQLite transaction: rows without a hash were added later.
            let configured = try reader.query("SELECT (SELECT count(*) FROM backings) + (SELECT count(*) FROM regions) AS rows") {
                $0.int64("rows")
            }[0]
            guard stored.configuration.map({ $0 == configuration }) ?? (configured == 0) else {
                throw damaged("the configuration (backings, initial regions) differs from what was recorded (configuration hash)")
            }
            chain = HashChain(start: start)
        }

        // Every complete transaction, window by window.
        var from: UInt64 = 1
        var complete = 0
        while let last, from <= last {
            let to = min(last, from + window - 1)
            let stored = try reader.query("""
                SELECT sequence, outcome, chain, timing_chain FROM transactions
                WHERE outcome IS NOT NULL AND sequence BETWEEN ? AND ? ORDER BY sequence
                """, [.u64(from), .u64(to)]) {
                (failed: $0.text("outcome") == "failed", content: $0.blobOrNil("chain"), timing: $0.blobOrNil("timing_chain"))
            }
            let records = try reader.records(from: from, to: to)
            for (record, row) in zip(records, stored) {
                guard row.failed == !record.succeeded else {
                    throw damaged(row.failed
                        ? "transaction \(record.sequence): outcome 'failed' but every slot operation succeeded"
                        : "transaction \(record.sequence): outcome 'ok' but a slot operation failed")
                }
                guard var current = chain else { continue }
                let what = "transaction \(record.sequence)"
                try compare(current.link(record), stored: (row.content, row.timing), missing: "\(what): complete but has no hash-chain link",
                            content: "\(what): its content differs from what was recorded (hash chain broken at \(what))",
                            timing: "\(what): its measured times differ from what was recorded (timing chain broken at \(what); the history itself is intact)",
                            damaged)
                chain = current
            }
            complete += records.count
            from = to + 1
        }

        // Cut-off transactions are not chained, but their packed sections must read too.
        _ = try reader.cutOffTransactions()

        // Every fault, row by row (none is kept).
        var faults = 0
        try reader.forEachRow("SELECT id, \(JournalReader.faultColumns), chain, timing_chain FROM faults ORDER BY id") {
            row throws(JournalError) in
            faults += 1
            guard var current = chain else { return }
            let id = row.int64("id")
            let what = "fault \(id)"
            try compare(current.link(JournalReader.fault(row), id: id),
                        stored: (row.blobOrNil("chain"), row.blobOrNil("timing_chain")),
                        missing: "\(what): has no hash-chain link",
                        content: "\(what): differs from what was recorded (fault chain broken at \(what))",
                        timing: "\(what): its time differs from what was recorded (fault timing chain broken at \(what))",
                        damaged)
            chain = current
        }

        let verdict: JournalVerification.Chain
        if let chain {
            switch (header.cleanClose, stored.seal) {
            case (true, nil):
                throw damaged("marked as closed cleanly, but the recorder's seal is missing (clean_close set by hand?)")
            case (false, .some):
                throw damaged("sealed by a clean close, but no longer marked as closed cleanly")
            case (false, nil):
                verdict = .unsealed
            case (true, .some) where cutOff > 0:
                throw damaged("sealed by a clean close, yet it holds \(cutOff) cut-off transaction(s), which only a recording cut short leaves")
            case (true, .some(let seal)):
                let sealedTransactions = stored.transactions ?? -1
                let sealedFaults = stored.faults ?? -1
                guard sealedTransactions == Int64(chain.transactionCount), sealedFaults == Int64(chain.faultCount) else {
                    throw damaged("the clean close sealed \(sealedTransactions) complete transactions and \(sealedFaults) faults; the journal holds \(chain.transactionCount) and \(chain.faultCount) — rows were removed or added after it was closed")
                }
                let expected = chain.seal(configuration: stored.configuration, closedUnixNs: header.closedUnixNs,
                                          statistics: try reader.recorderStatistics())
                guard seal == expected else {
                    throw damaged("the seal written at the clean close does not match the chain's end, the close time or the recorder's statistics: one of them was edited")
                }
                verdict = .sealed
            }
        } else {
            verdict = .unchained
        }
        return JournalVerification(transactions: complete + cutOff, cutOff: cutOff, faults: faults,
                                   lastSequence: last, chain: verdict)
    }

    /// A recomputed pair of links against the stored pair (a transaction's links
    /// are stored as their first `JournalRows.storedLinkBytes` bytes, a fault's
    /// whole); the words say what is wrong.
    private static func compare(
        _ computed: (content: HashChain.Link, timing: HashChain.Link),
        stored: (content: HashChain.Link?, timing: HashChain.Link?), missing: String, content: String, timing: String,
        _ damaged: (String) -> JournalError
    ) throws(JournalError) {
        guard let storedContent = stored.content, let storedTiming = stored.timing else { throw damaged(missing) }
        func matches(_ computed: HashChain.Link, _ stored: HashChain.Link) -> Bool {
            stored.count >= JournalRows.storedLinkBytes && computed.starts(with: stored)
        }
        guard matches(computed.content, storedContent) else { throw damaged(content) }
        guard matches(computed.timing, storedTiming) else { throw damaged(timing) }
    }

    /// Rows that belong to something that is not there, or to a transaction that
    /// cannot have them.
    private static func checkCrossTable(_ reader: JournalReader, lastSequence: UInt64?) throws(JournalError) {
        func damaged(_ detail: String) -> JournalError { .damaged(path: reader.path, detail: detail) }
        let orphan = try reader.query("""
            SELECT sequence FROM drain_timeouts WHERE sequence NOT IN (SELECT sequence FROM transactions)
            ORDER BY sequence LIMIT 1
            """) { $0.int64("sequence") }
        if let orphan = orphan.first {
            throw damaged("a drain timeout belongs to transaction \(orphan), which is not in the journal")
        }
        let early = try reader.query("""
            SELECT sequence FROM drain_timeouts
            WHERE sequence IN (SELECT sequence FROM transactions WHERE outcome IS NULL) ORDER BY sequence LIMIT 1
            """) { $0.int64("sequence") }
        if let early = early.first {
            throw damaged("transaction \(early) is cut off but has a drain timeout, which only a complete transaction has")
        }
        // Fault ids 1…F; each names an existing transaction, or one after the end
        // of a journal that was cut short (its record was lost with the recorder).
        var expected: Int64 = 1
        let clean = try reader.header().cleanClose
        try reader.forEachRow("SELECT id, transaction_in_flight FROM faults ORDER BY id") { r throws(JournalError) in
            let id = r.int64("id")
            guard id == expected else {
                throw damaged(id < 1 ? "fault \(id): fault ids start at 1"
                              : expected == 1 ? "fault \(expected) missing: the faults start at \(id)"
                              : "fault \(expected) missing: \(expected - 1) is followed by \(id)")
            }
            expected += 1
            guard let inFlight = r.int64OrNil("transaction_in_flight") else { return }
            let beyondEnd = inFlight > 0 && UInt64(inFlight) > (lastSequence ?? 0)
            guard inFlight >= 1, !beyondEnd || !clean else {
                throw damaged("fault \(id) names transaction \(inFlight) as in flight, which is not in the journal")
            }
        }
    }

    /// Re-inserts every row into a private, empty journal of the same schema, so
    /// each value meets the constraints migrations/*.sql define — CHECK, NOT NULL,
    /// STRICT types, keys and references — even where a file's writer bypassed
    /// them (`PRAGMA ignore_check_constraints`). The schema stays the one
    /// definition: nothing here repeats a constraint.
    private static func checkConstraints(_ reader: JournalReader) throws(JournalError) {
        let path = reader.path
        let scratch: TemporaryDirectory
        do { scratch = try TemporaryDirectory(prefix: "memjournal-verify") } catch {
            throw .writeFailed(path: TemporaryDirectory.base, reason: "cannot create a private directory: \(error)")
        }
        let violation: String?
        do {
            violation = try firstViolation(of: reader.readPath, checkingIn: scratch.file("check"))
        } catch {
            throw error.isDamage ? .damaged(path: path, detail: error.message) : .io(path: path, error)
        }
        if let violation { throw .damaged(path: path, detail: violation) }
    }

    /// The first row of `journal` that an empty journal at `checkPath` refuses, or nil.
    private static func firstViolation(of journal: String, checkingIn checkPath: String) throws(SQLiteError) -> String? {
        let check = try Database(path: checkPath, mode: .scratch)
        try check.execute("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
        try Migrations.migrate(check, from: 0)
        let tables = try JournalSchema.objects(of: check, schema: "main").filter { $0.type == "table" }.map(\.name)
        // Empty: migrations seed some rows (recorder_stats).
        for table in tables { try check.execute("DELETE FROM main.\(table)") }
        try check.execute("PRAGMA foreign_keys = ON")
        try check.prepare("ATTACH ? AS journal").run(.text(fileURI(journal)))
        // Parents before children, for the references.
        let order = ["journal_header", "backings", "regions", "transactions"]
        for table in order + tables.filter({ !order.contains($0) }).sorted() {
            let columns = try check.texts("SELECT name FROM pragma_table_info('\(table)')")
            let list = columns.joined(separator: ", ")
            do {
                try check.execute("INSERT INTO main.\(table) (\(list)) SELECT \(list) FROM journal.\(table)")
            } catch where error.code.primary == .constraint {
                return try locate(table: table, columns: columns, in: check, error)
            }
        }
        return nil
    }

    /// Finds the first row of `table` (in key order) that violates a constraint,
    /// by inserting the rows one at a time; says which row and which constraint.
    private static func locate(table: String, columns: [String], in check: Database, _ error: SQLiteError)
        throws(SQLiteError) -> String
    {
        let key = try check.texts("SELECT name FROM pragma_table_info('\(table)') WHERE pk > 0 ORDER BY pk")
        let list = columns.joined(separator: ", ")
        let keyList = key.joined(separator: ", ")
        let keys = try check.prepare("SELECT \(keyList) FROM journal.\(table) ORDER BY \(keyList)").rows()
        let one = try check.prepare("""
            INSERT INTO main.\(table) (\(list)) SELECT \(list) FROM journal.\(table)
            WHERE (\(keyList)) = (\(key.map { _ in "?" }.joined(separator: ", ")))
            """)
        while let row = try keys.next() {
            let values = key.map { row.int64($0) }
            do {
                try one.bind(values.map(SQLValue.integer))
                while try one.step() {}
            } catch where error.code.primary == .constraint {
                let named = zip(key, values).map { "\($0) \($1)" }.joined(separator: ", ")
                let where_ = table == "journal_header" ? "the header"
                    : table == "transactions" ? "transaction \(values[0])"
                    : key.first == "sequence" ? "\(table) row of transaction \(values[0]) (\(named))"
                    : "\(table) row (\(named))"
                return "\(where_): \(error.message) — a value outside what the schema allows"
            }
        }
        return "\(table): \(error.message)"
    }

    /// `path` as a read-only `file:` URI (percent-encoding what a URI reserves; an
    /// absolute path gets an empty authority, so `//x` is not read as host `x`).
    private static func fileURI(_ path: String) -> String {
        var uri = path.hasPrefix("/") ? "file://" : "file:"
        for byte in path.utf8 {
            let c = Character(UnicodeScalar(byte))
            if c.isASCII, c.isLetter || c.isNumber || "/-._~".contains(c) {
                uri.append(c)
            } else {
                uri += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return uri + "?mode=ro"
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
