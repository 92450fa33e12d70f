import Foundation
import JSON
import Sync
import Testing
import TestSupport

/// Every `--json` output of the real binary parses with the strict reader and
/// has the shape documented in the README: the keys, and the type of each value.
@Suite(.serialized) struct JSONOutputTests {
    /// The memjournal binary beside this test bundle (built by `swift build`).
    static let binary = memjournalExecutable

    /// Runs the binary; returns (exit status, stdout).
    func run(_ arguments: [String]) throws -> (Int32, String) {
        let (status, out, _) = try Self.runCapturing(arguments)
        return (status, out)
    }

    /// Runs the binary; returns (exit status, stdout, stderr).
    static func runCapturing(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let dir = makeTemporaryDirectory()
        FileManager.default.createFile(atPath: dir.file("out"), contents: nil)
        FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("out")))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("err")))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let text = { (name: String) in String(decoding: FileManager.default.contents(atPath: dir.file(name)) ?? Data(), as: UTF8.self) }
        return (process.terminationStatus, text("out"), text("err"))
    }

    /// Parses one line of output as JSON.
    func json(_ arguments: [String], status: Int32 = 0) throws -> JSONValue {
        let (code, text) = try run(arguments)
        #expect(code == status, "\(arguments.joined(separator: " ")) exited \(code)")
        let lines = text.split(separator: "\n")
        try #require(lines.count == 1, "one line of JSON from \(arguments.joined(separator: " ")), got \(lines.count)")
        return try JSONParser.parse(Array(lines[0].utf8))
    }

    enum Kind { case number, string, bool, object, array, nullable }

    /// Checks that `value` is an object with exactly these keys, each of its kind.
    func expectShape(_ value: JSONValue, _ shape: [String: Kind], _ context: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .object(let members) = value else {
            Issue.record("\(context): not an object", sourceLocation: sourceLocation)
            return
        }
        #expect(Set(members.map(\.key)) == Set(shape.keys), "\(context): keys", sourceLocation: sourceLocation)
        for (key, member) in members {
            guard let kind = shape[key] else { continue }
            let matches: Bool = switch (kind, member) {
            case (.number, .number), (.string, .string), (.bool, .bool), (.object, .object), (.array, .array): true
            case (.nullable, _): true
            default: false
            }
            #expect(matches, "\(context).\(key): \(member.typeName)", sourceLocation: sourceLocation)
        }
    }

    func member(_ value: JSONValue, _ key: String) -> JSONValue? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    @Test func recordInspectAndReplayPrintTheirDocumentedJSON() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "no memjournal binary at \(Self.binary)")
        let dir = makeTemporaryDirectory()
        let journal = dir.file("split.journal")

        let percentiles: [String: Kind] = ["p50": .number, "p90": .number, "p99": .number, "max": .number]
        let record = try json(["record", "--scenario", "split", "--transactions", "30", "--vcpu-mode", "stepping",
                               "-o", journal, "--json"])
        expectShape(record, [
            "scenario": .string, "backend": .string, "vcpus": .number, "inhibit": .bool, "wait": .string,
            "transactions": .number, "overlapping": .number, "inhibited": .number, "slotOperations": .number,
            "failedOperations": .number, "spuriousFaults": .number, "vcpuAccesses": .number, "inhibitNs": .object,
            "drainNs": .object, "applyNs": .object, "slotOperationNs": .object, "elapsedMs": .number,
            "firstFailure": .nullable,
        ], "record")
        if let inhibit = member(record, "inhibitNs") { expectShape(inhibit, percentiles, "record.inhibitNs") }

        let summary = try json(["inspect", journal, "summary", "--json"])
        expectShape(summary, [
            "journal": .string, "schema": .number, "backend": .string, "scenario": .nullable, "vcpus": .number,
            "inhibit": .bool, "wait": .string, "clean_close": .bool, "transactions": .number, "complete": .number,
            "cut_off": .number, "gaps": .number, "overlapping": .number, "inhibited": .number,
            "slot_operations": .number, "failed_operations": .number, "spurious_faults": .number,
            "drain_timeouts": .number, "inhibit_ns": .object, "queue_stalls": .nullable, "capture": .nullable,
        ], "summary")
        if let inhibit = member(summary, "inhibit_ns") { expectShape(inhibit, percentiles, "summary.inhibit_ns") }

        let list = try json(["inspect", journal, "list", "--json"])
        guard case .array(let rows) = list, let first = rows.first else { Issue.record("list: not a non-empty array"); return }
        #expect(rows.count >= 30)
        expectShape(first, [
            "sequence": .number, "as": .number, "outcome": .string, "overlaps": .bool, "inhibited": .bool,
            "inhibit_ns": .number, "deletes": .number, "adds": .number, "slot_ops": .number, "failed_ops": .number,
        ], "list[0]")

        let show = try json(["inspect", journal, "show", "2", "--json"])
        expectShape(show, [
            "sequence": .number, "as": .number, "begin_ns": .number, "commit_ns": .number, "sections": .array,
            "overlap": .nullable, "slot_ops": .array, "timing": .object, "digest": .object,
        ], "show")
        if case .array(let ops)? = member(show, "slot_ops"), let op = ops.first {
            expectShape(op, [
                "kind": .string, "slot": .number, "range": .array, "backing": .number, "offset": .string,
                "flags": .number, "errno": .number, "duration_ns": .number,
            ], "show.slot_ops[0]")
        } else {
            Issue.record("show.slot_ops: empty")
        }
        if let timing = member(show, "timing") {
            expectShape(timing, ["inhibited": .bool, "drain_ns": .number, "apply_ns": .number, "inhibit_ns": .number,
                                 "vcpus_kicked": .number, "drain_timeout": .nullable], "show.timing")
        }
        if let digest = member(show, "digest") { expectShape(digest, ["count": .number, "hash": .string], "show.digest") }

        let map = try json(["inspect", journal, "map", "--at", "3", "--json"])
        expectShape(map, ["sequence": .number, "digest_matches": .bool, "views": .object, "slots": .object], "map")
        #expect(member(map, "digest_matches") == .bool(true))

        let faults = try json(["inspect", journal, "faults", "--json"])
        #expect(faults == .array([]), "a stepping run with the inhibit on has no faults")

        let hazards = try json(["inspect", journal, "hazards", "--json"])
        expectShape(hazards, ["windows": .number, "unprotected": .number, "longest_ns": .nullable, "transactions": .array],
                    "hazards")

        let replay = try json(["replay", journal, "--mode", "slot-ops", "--json"])
        expectShape(replay, [
            "journal": .string, "backend": .string, "mode": .string, "applied": .number, "compared": .number,
            "firstCompared": .number, "lastCompared": .number, "cutOffSkipped": .number,
            "transactionsPerSecond": .number, "finalDigest": .string, "vcpus": .number, "vcpuTargets": .number,
            "vcpuAccesses": .nullable, "spuriousFaults": .nullable, "vcpuFailure": .nullable, "divergence": .nullable,
        ], "replay")
    }

    @Test func aDivergenceIsReportedInTheReplayJSON() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "no memjournal binary at \(Self.binary)")
        let dir = makeTemporaryDirectory()
        let journal = dir.file("pam.journal")
        _ = try run(["record", "--scenario", "pam", "--transactions", "10", "--vcpu-mode", "stepping", "-o", journal])
        // A replay on a simulated KVM whose every errno is what we recorded cannot diverge;
        // editing one recorded digest makes it.
        let edit = Process()
        edit.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        edit.arguments = [journal, "UPDATE transactions SET slot_hash = slot_hash + 1 WHERE sequence = 4"]
        try edit.run()
        edit.waitUntilExit()
        try #require(edit.terminationStatus == 0, "sqlite3 could not edit the journal")
        // Replay verifies first and refuses the edited journal; told not to, it diverges there.
        let (refused, _, message) = try Self.runCapturing(["replay", journal, "--mode", "slot-ops", "--json"])
        #expect(refused == 65)
        #expect(message.contains("transaction 4: its content differs from what was recorded"), "\(message)")
        let replay = try json(["replay", journal, "--mode", "slot-ops", "--json", "--no-verify"], status: 1)
        let divergence = try #require(member(replay, "divergence"))
        expectShape(divergence, [
            "sequence": .number, "addressSpace": .number, "operation": .nullable, "kind": .string, "expected": .string,
            "actual": .string, "slotsAround": .array, "explanation": .nullable,
        ], "replay.divergence")
        #expect(member(divergence, "sequence") == .number("4"))
    }
}
