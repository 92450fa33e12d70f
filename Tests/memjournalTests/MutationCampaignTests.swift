import Foundation
import Testing
import Sync
import TestSupport

/// The mutation campaign: journals damaged and edited the ways files get damaged
/// and edited, each run through every read command of the real binary.
///
/// For every mutant and command: no crash (a signal), an exit code from the
/// documented set, every file in the mutant's directory byte-identical
/// afterwards (none created, none changed), and no verifying command reporting
/// success on content that differs from the original: `verify` may exit 0 only
/// if the mutant exports exactly as the original, and `export` and `replay` may
/// succeed only where `verify` does. Seeded (MEMJOURNAL_MUTATION_SEED overrides
/// the seed), so a failure reproduces; the counts are printed by category.
@Suite(.serialized) struct MutationCampaignTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["MEMJOURNAL_MUTATION_SEED"].flatMap { UInt64($0) }
        ?? 0x6D6A_726E
    static let perCategory = 33
    static let documentedExits: Set<Int32> = [0, 1, 64, 65, 66, 74]

    struct Outcome {
        var crashed: Bool
        var status: Int32
        var out: String
        var err: String
    }

    /// Runs the binary; a signal is reported as a crash, never as an exit code.
    static func run(_ arguments: [String], in dir: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: JSONOutputTests.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes while the process runs (a full pipe would block it).
        let outData = Locked(Data())
        let reader = Thread { outData.set(out.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !outData.done { usleep(1000) }
        return Outcome(crashed: process.terminationReason == .uncaughtSignal, status: process.terminationStatus,
                       out: String(decoding: outData.value, as: UTF8.self), err: String(decoding: errData, as: UTF8.self))
    }

    /// A value handed from the pipe-reading thread.
    final class Locked: @unchecked Sendable {
        // @unchecked: `value` and `done` are written once by the reader thread under
        // `lock` and read under it after `done` is seen true.
        private let lock = NSLock()
        private var stored: Data
        private var finished = false
        init(_ value: Data) { stored = value }
        func set(_ value: Data) { lock.withLock { stored = value; finished = true } }
        var done: Bool { lock.withLock { finished } }
        var value: Data { lock.withLock { stored } }
    }

    /// Every file in `dir` with its bytes.
    static func snapshot(_ dir: String) -> [String: Data] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return Dictionary(uniqueKeysWithValues: names.map { ($0, FileManager.default.contents(atPath: dir + "/" + $0) ?? Data()) })
    }

    /// SplitMix64: the campaign's only source of choices.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    struct Base {
        var name: String
        var journal: [UInt8]
        var transactions: Int
        var export: Data
    }

    struct Mutant {
        var category: String
        var what: String
        var base: Int
        /// File suffix ("" for the journal, "-wal", …) → bytes.
        var files: [String: [UInt8]]
        /// SQL to apply to the journal with the sqlite3 shell, if any.
        var sql: String?
    }

    @Test func everyReadCommandSurvivesEveryMutant() throws {
        try #require(FileManager.default.isExecutableFile(atPath: JSONOutputTests.binary))
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"), "the campaign's SQL edits need sqlite3 (.ci/run installs it)")
        let work = makeTemporaryDirectory()
        var random = Random(state: Self.seed)

        // Two sealed journals (one with faults) and the -wal of a recording killed mid-run.
        var bases: [Base] = []
        for (name, args) in [("faults", ["--scenario", "pam", "--no-inhibit", "--vcpu-mode", "stepping", "--transactions", "40"]),
                             ("random", ["--scenario", "random", "--vcpu-mode", "stepping", "--transactions", "60"])] {
            let path = work.file("\(name).journal")
            let recorded = try Self.run(["record", "-o", path, "--seed", "3"] + args, in: work.path)
            #expect(!recorded.crashed && [0, 1].contains(recorded.status), "\(recorded.err)")
            let exported = try Self.run(["export", path, "-o", work.file("\(name).jsonl")], in: work.path)
            try #require(exported.status == 0, "\(exported.err)")
            let lines = try String(contentsOfFile: work.file("\(name).jsonl"), encoding: .utf8).split(separator: "\n")
            bases.append(Base(name: name, journal: try #require(contents(path)),
                              transactions: lines.count { $0.hasPrefix("{\"seq\":") },
                              export: try #require(FileManager.default.contents(atPath: work.file("\(name).jsonl")))))
        }
        let foreignWAL = try Self.killedRecordingWAL(in: work)

        let mutants = Self.mutants(bases, foreignWAL: foreignWAL, random: &random)
        #expect(mutants.count >= 300)

        // Two mutants at a time (this machine has two cores); each in its own directory.
        let tally = Tally()
        let baseExports = bases.map(\.export)
        let baseNames = bases.map(\.name)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for index in stride(from: worker, to: mutants.count, by: 2) {
                do {
                    try Self.check(mutants[index], index: index, baseExport: baseExports[mutants[index].base],
                                   baseName: baseNames[mutants[index].base], work: work.path, tally: tally)
                } catch {
                    tally.fail(mutants[index].category, "mutant \(index): the harness failed: \(error)")
                }
            }
        }
        let counts = tally.counts
        let failures = tally.failures
        print("mutation campaign (seed \(Self.seed)): category: mutants (refused by verify), commands, crashes, bad exits, silent acceptances, files modified")
        for (category, c) in counts.sorted(by: { $0.key < $1.key }) {
            print("  \(category): \(c.mutants) (\(c.refused)), \(c.commands), \(c.crashes), \(c.badExits), \(c.silent), \(c.modified)")
        }
        let total = counts.values.reduce(0) { $0 + $1.mutants }
        print("  total: \(total) mutants, \(counts.values.reduce(0) { $0 + $1.commands }) commands")
        #expect(total >= 300, "only \(total) mutants were made")
        #expect(failures.isEmpty, "\(failures.count) failure(s):\n\(failures.prefix(15).joined(separator: "\n"))")
    }

    struct Counts { var mutants = 0, refused = 0, commands = 0, crashes = 0, badExits = 0, silent = 0, modified = 0 }

    /// Counts and failures from both workers.
    final class Tally: @unchecked Sendable {
        // @unchecked: every stored property is read and written only with `lock` held.
        private let lock = NSLock()
        private var byCategory: [String: Counts] = [:]
        private var failed: [String] = []
        func add(_ category: String, _ c: Counts, _ failures: [String]) {
            lock.withLock {
                var total = byCategory[category, default: Counts()]
                total.mutants += c.mutants
                total.refused += c.refused
                total.commands += c.commands
                total.crashes += c.crashes
                total.badExits += c.badExits
                total.silent += c.silent
                total.modified += c.modified
                byCategory[category] = total
                failed += failures
            }
        }
        func fail(_ category: String, _ failure: String) { add(category, Counts(), [failure]) }
        var counts: [String: Counts] { lock.withLock { byCategory } }
        var failures: [String] { lock.withLock { failed } }
    }

    /// Makes mutant `index` in its own directory and runs every read command on it.
    static func check(_ mutant: Mutant, index: Int, baseExport: Data, baseName: String, work: String, tally: Tally) throws {
        let dir = work + "/m\(index)"
        let exportPath = work + "/m\(index).jsonl"
        let reducedPath = work + "/m\(index).min.jsonl"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer {
            TemporaryDirectory.removeTree(dir)
            unlink(exportPath)
            unlink(reducedPath)
        }
        let journal = dir + "/j.journal"
        for (suffix, bytes) in mutant.files { write(bytes, to: journal + suffix) }
        if let sql = mutant.sql {
            let edited = try run(["-c", "exec /usr/bin/sqlite3 j.journal \"$0\"", sql], in: dir, shell: true)
            if edited.status != 0 { return }  // an edit SQLite itself refused: not a mutant
        }
        var c = Counts(mutants: 1)
        var failures: [String] = []
        let before = snapshot(dir)
        let label = "mutant \(index) [\(mutant.category): \(mutant.what)] of \(baseName) (seed \(seed))"
        var exits: [String: Int32] = [:]
        let commands: [(String, [String])] = [
            ("summary", ["inspect", "j.journal", "summary"]), ("list", ["inspect", "j.journal", "list"]),
            ("show", ["inspect", "j.journal", "show", "2"]), ("map", ["inspect", "j.journal", "map", "--at", "2"]),
            ("faults", ["inspect", "j.journal", "faults"]), ("hazards", ["inspect", "j.journal", "hazards"]),
            ("verify", ["inspect", "j.journal", "verify"]), ("export", ["export", "j.journal", "-o", exportPath]),
            ("replay", ["replay", "j.journal"]),
            ("reduce", ["reduce", "j.journal", "--keep", "hazard", "-o", reducedPath]),
        ]
        for (name, arguments) in commands {
            let outcome = try run(arguments, in: dir)
            c.commands += 1
            exits[name] = outcome.status
            if outcome.crashed {
                c.crashes += 1
                failures.append("\(label): \(name) crashed (signal \(outcome.status)): \(outcome.err.suffix(400))")
            } else if !documentedExits.contains(outcome.status) {
                c.badExits += 1
                failures.append("\(label): \(name) exited \(outcome.status): \(outcome.err.suffix(300))")
            }
            if snapshot(dir) != before {
                c.modified += 1
                failures.append("\(label): \(name) changed or created files in \(dir)")
            }
        }
        if exits["verify"] != 0 { c.refused += 1 }
        // No verifying command accepts content that differs from the original.
        let exported = FileManager.default.contents(atPath: exportPath)
        let differs = exported.map { $0 != baseExport }
        if exits["verify"] == 0, differs != false {
            c.silent += 1
            failures.append("\(label): verify said intact, but the content \(differs == nil ? "could not be exported" : "differs")")
        }
        if exits["export"] == 0, differs == true {
            c.silent += 1
            failures.append("\(label): export succeeded on content that differs from the original")
        }
        if exits["replay"] == 0, exits["verify"] != 0 {
            c.silent += 1
            failures.append("\(label): replay succeeded on a journal verify refused")
        }
        // reduce reads only what verify accepts: it refuses (65, 66), never reduces nor says "nothing to reduce".
        if let status = exits["reduce"], status == 0 || status == 1, exits["verify"] != 0 {
            c.silent += 1
            failures.append("\(label): reduce exited \(status) on a journal verify refused")
        }
        tally.add(mutant.category, c, failures)
    }

    /// Runs `arguments` under /bin/sh when `shell` (for the sqlite3 edits).
    static func run(_ arguments: [String], in dir: String, shell: Bool) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Outcome(crashed: process.terminationReason == .uncaughtSignal, status: process.terminationStatus, out: "", err: "")
    }

    /// The -wal of a recording killed mid-run (nil if the kill came before it had one).
    static func killedRecordingWAL(in work: TemporaryDirectory) throws -> [UInt8]? {
        let path = work.file("killed.journal")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: JSONOutputTests.binary)
        process.arguments = ["record", "-o", path, "--scenario", "split", "--transactions", "100000", "--interval-us", "200"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 where (contents(path + "-wal")?.count ?? 0) < 40_000 { usleep(10_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return contents(path + "-wal")
    }

    // MARK: Mutants

    static func mutants(_ bases: [Base], foreignWAL: [UInt8]?, random: inout Random) -> [Mutant] {
        var result: [Mutant] = []
        let pageSize = 4096
        for category in ["header", "schema-page", "btree-page", "truncate", "zero-page", "swap-pages", "append",
                         "sql-rows", "sql-structure", "sidecar"] {
            for _ in 0..<perCategory {
                let b = random.below(bases.count)
                var bytes = bases[b].journal
                let pages = bytes.count / pageSize
                var files: [String: [UInt8]] = [:]
                var sql: String?
                var what: String
                switch category {
                case "header":
                    let at = random.below(100)
                    let bit = random.below(8)
                    bytes[at] ^= 1 << bit
                    what = "bit \(bit) of header byte \(at)"
                case "schema-page":
                    let at = 100 + random.below(pageSize - 100)
                    bytes[at] ^= UInt8(1 + random.below(255))
                    what = "byte \(at) of page 1"
                case "btree-page":
                    let at = pageSize + random.below(bytes.count - pageSize)
                    for i in 0..<(1 + random.below(4)) where at + i < bytes.count { bytes[at + i] ^= UInt8(1 + random.below(255)) }
                    what = "bytes at \(at) (page \(at / pageSize + 1))"
                case "truncate":
                    let length = random.below(2) == 0 ? random.below(pages) * pageSize : random.below(bytes.count)
                    bytes = Array(bytes.prefix(length))
                    what = "truncated to \(length) bytes"
                case "zero-page":
                    let page = random.below(pages)
                    for i in (page * pageSize)..<((page + 1) * pageSize) { bytes[i] = 0 }
                    what = "page \(page + 1) zeroed"
                case "swap-pages":
                    let p = random.below(pages)
                    let q = random.below(pages)
                    let a = Array(bytes[(p * pageSize)..<((p + 1) * pageSize)])
                    bytes.replaceSubrange((p * pageSize)..<((p + 1) * pageSize), with: bytes[(q * pageSize)..<((q + 1) * pageSize)])
                    bytes.replaceSubrange((q * pageSize)..<((q + 1) * pageSize), with: a)
                    what = "pages \(p + 1) and \(q + 1) swapped"
                case "append":
                    let count = 1 + random.below(3)
                    bytes += random.below(2) == 0 ? [UInt8](repeating: 0, count: count * pageSize) : random.bytes(count * pageSize)
                    what = "\(count) page(s) appended"
                case "sql-rows":
                    (sql, what) = sqlRowEdit(transactions: bases[b].transactions, random: &random)
                case "sql-structure":
                    (sql, what) = sqlStructureEdit(random: &random)
                default:
                    (files, what) = sidecar(&bytes, foreignWAL: foreignWAL, random: &random)
                }
                files[""] = bytes
                result.append(Mutant(category: category, what: what, base: b, files: files, sql: sql))
            }
        }
        return result
    }

    static func sqlRowEdit(transactions n: Int, random: inout Random) -> (String, String) {
        let t = 1 + random.below(n)
        let tables = ["drain_timeouts", "capture_exits", "transactions"]
        let renumber = { (to: String) in
            tables.map { "UPDATE \($0) SET sequence = \(to) WHERE sequence = \(t);" }.joined(separator: " ")
        }
        let edits: [(String, String)] = [
            (tables.map { "DELETE FROM \($0) WHERE sequence = \(t);" }.joined(separator: " "), "transaction \(t) deleted"),
            (renumber("0"), "transaction \(t) renumbered to 0"),
            (renumber("-\(t)"), "transaction \(t) renumbered to -\(t)"),
            (renumber("\(n + 3)"), "transaction \(t) renumbered past the end"),
            (renumber("9223372036854775807"), "transaction \(t) renumbered to 2^63-1"),
            ("""
             INSERT INTO transactions SELECT \(n + 1), as_id, begin_ns, overlaps, overlap_delete_index, overlap_add_index,
               sections, commit_ns, outcome, inhibited, drain_ns, apply_ns, inhibit_ns, vcpus_kicked, slot_ops, slot_count,
               slot_hash, chain, timing_chain FROM transactions WHERE sequence = \(t);
             """, "transaction \(t) duplicated at the end"),
            ("UPDATE transactions SET begin_ns = begin_ns + 1 WHERE sequence = \(t)", "begin_ns of \(t)"),
            ("UPDATE transactions SET commit_ns = 0 WHERE sequence = \(t)", "commit_ns of \(t) zeroed"),
            ("UPDATE transactions SET begin_ns = 9223372036854775800, commit_ns = 9223372036854775807 WHERE sequence = \(t)", "times of \(t) near 2^63"),
            ("UPDATE transactions SET overlaps = 1 - overlaps WHERE sequence = \(t)", "overlaps of \(t) flipped"),
            ("UPDATE transactions SET inhibited = 2 WHERE sequence = \(t)", "inhibited of \(t) = 2"),
            ("UPDATE transactions SET vcpus_kicked = -1 WHERE sequence = \(t)", "vcpus_kicked of \(t) = -1"),
            ("UPDATE transactions SET as_id = 1 WHERE sequence = \(t)", "address space of \(t)"),
            ("UPDATE transactions SET outcome = 'failed' WHERE sequence = \(t)", "outcome of \(t)"),
            ("UPDATE transactions SET overlap_delete_index = -1 WHERE sequence = \(t) AND overlaps = 1", "negative overlap index of \(t)"),
            // Inside the packed columns (migrations/0008_packed_transactions.sql): bytes changed, cut, repeated.
            ("UPDATE transactions SET sections = CAST(x'ff' || sections AS BLOB) WHERE sequence = \(t)", "undefined section code in \(t)"),
            ("UPDATE transactions SET sections = substr(sections, 1, length(sections) - 1) WHERE sequence = \(t)", "sections of \(t) cut short"),
            ("UPDATE transactions SET sections = CAST(sections || sections AS BLOB) WHERE sequence = \(t)", "sections of \(t) repeated"),
            ("UPDATE transactions SET sections = CAST(substr(sections, 1, 2) || x'00' || substr(sections, 4) AS BLOB) WHERE sequence = \(t)", "a section byte of \(t) zeroed"),
            ("UPDATE transactions SET sections = CAST(substr(sections, 1, 2) || x'ffffffffffffffffffff7f' || substr(sections, 3) AS BLOB) WHERE sequence = \(t)", "an over-long number in \(t)"),
            ("UPDATE transactions SET sections = x'' WHERE sequence = \(t)", "sections of \(t) emptied"),
            ("UPDATE transactions SET sections = NULL WHERE sequence = \(t)", "sections of \(t) NULL"),
            ("UPDATE transactions SET sections = 'text' WHERE sequence = \(t)", "sections of \(t) as text"),
            ("UPDATE transactions SET slot_ops = x'' WHERE sequence = \(t)", "slot ops of \(t) emptied"),
            ("UPDATE transactions SET slot_ops = CAST(slot_ops || slot_ops AS BLOB) WHERE sequence = \(t)", "slot ops of \(t) repeated"),
            ("UPDATE transactions SET slot_ops = substr(slot_ops, 1, length(slot_ops) - 1) WHERE sequence = \(t)", "slot ops of \(t) cut short"),
            ("UPDATE transactions SET slot_ops = CAST(x'0f' || slot_ops AS BLOB) WHERE sequence = \(t)", "undefined slot op code in \(t)"),
            ("UPDATE transactions SET slot_ops = CAST(x'0800ff7f' || slot_ops AS BLOB) WHERE sequence = \(t)", "a slot op copying a missing section in \(t)"),
            ("UPDATE transactions SET slot_ops = NULL WHERE sequence = \(t)", "slot ops of \(t) NULL"),
            ("UPDATE transactions SET overlap_delete_index = 99 WHERE sequence = \(t) AND overlaps = 1", "overlap index of \(t) past its deletes"),
            ("UPDATE transactions SET slot_hash = slot_hash + 1 WHERE sequence = \(t)", "digest of \(t)"),
            ("UPDATE transactions SET slot_count = -5 WHERE sequence = \(t)", "negative slot count in \(t)"),
            ("UPDATE transactions SET chain = x'00' WHERE sequence = \(t)", "link of \(t) shortened"),
            ("UPDATE region_names SET name = 'edited' WHERE id = 0", "a region name"),
            ("UPDATE region_names SET id = id + 5", "region name ids shifted"),
            ("DELETE FROM region_names", "region names deleted"),
            ("INSERT INTO region_names VALUES (-1, 'planted')", "a region name planted"),
            ("UPDATE faults SET gpa = gpa + 1 WHERE id = 1", "gpa of fault 1"),
            ("UPDATE faults SET vcpu = -7 WHERE id = 1", "vcpu of fault 1"),
            ("UPDATE faults SET transaction_in_flight = 9999", "faults' transaction"),
            ("DELETE FROM faults WHERE id = 2", "fault 2 deleted"),
            ("UPDATE journal_header SET vcpus = 9", "header vcpus"),
            ("UPDATE journal_header SET max_slots = -1", "header max_slots"),
            ("UPDATE journal_header SET page_size = 0", "header page_size"),
            ("UPDATE journal_header SET command_line = 'not json'", "header command line"),
            ("UPDATE journal_header SET clean_close = 0", "clean close cleared"),
            ("UPDATE journal_header SET closed_unix_ns = 1", "close time"),
            ("UPDATE backings SET size = size + 4096", "backing size"),
            ("UPDATE regions SET start = start + 1 WHERE ordinal = 0", "region start"),
            ("UPDATE recorder_stats SET batches = batches + 1", "recorder statistics"),
            ("DELETE FROM journal_header", "header deleted"),
        ]
        let (edit, what) = edits[random.below(edits.count)]
        return ("PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF; " + edit, what)
    }

    static func sqlStructureEdit(random: inout Random) -> (String, String) {
        let edits: [(String, String)] = [
            ("DROP VIEW fault_report", "a view dropped"),
            ("CREATE VIEW planted AS SELECT 1", "a view planted"),
            ("CREATE TRIGGER planted AFTER INSERT ON faults BEGIN SELECT 1; END", "a trigger planted"),
            ("CREATE INDEX planted ON transactions (slot_hash)", "an index planted"),
            ("ALTER TABLE faults RENAME COLUMN gpa TO address", "a column renamed"),
            ("ALTER TABLE backings RENAME TO memory", "a table renamed"),
            ("ALTER TABLE transactions ADD COLUMN extra INTEGER", "a column added"),
            ("ALTER TABLE faults DROP COLUMN time_ns", "a column dropped"),
            ("DROP TABLE drain_timeouts", "a table dropped"),
            ("PRAGMA user_version = 99", "schema version 99"),
            ("PRAGMA user_version = 3", "schema version 3"),
            ("PRAGMA user_version = -2", "schema version -2"),
            ("PRAGMA application_id = 7", "another application_id"),
            ("PRAGMA journal_mode = WAL; PRAGMA journal_mode = DELETE", "journal mode toggled"),
            ("VACUUM", "vacuumed (same content, other pages)"),
        ]
        let (edit, what) = edits[random.below(edits.count)]
        return (edit, what)
    }

    static func sidecar(_ journal: inout [UInt8], foreignWAL: [UInt8]?, random: inout Random) -> ([String: [UInt8]], String) {
        switch random.below(7) {
        case 0 where foreignWAL != nil:
            return (["-wal": foreignWAL!], "another journal's -wal")
        case 1 where foreignWAL != nil:
            journal[18] = 2
            journal[19] = 2
            return (["-wal": foreignWAL!], "WAL-mode header and another journal's -wal")
        case 2 where foreignWAL != nil:
            let wal = foreignWAL!
            return (["-wal": Array(wal.prefix(32)) + random.bytes(max(0, wal.count - 32))], "a valid WAL header over random frames")
        case 3:
            return (["-shm": random.bytes(32_768)], "random -shm")
        case 4:
            return (["-journal": random.bytes(512 + random.below(8192))], "random -journal")
        case 5:
            journal[18] = 2
            journal[19] = 2
            return ([:], "WAL-mode header without side files")
        default:
            return (["-wal": random.bytes(random.below(50_000))], "random -wal")
        }
    }
}
