import Foundation
import Harness
import JSON
import JournalStore
import Scenarios
import Sync
import Testing
import TestSupport
@testable import JournalSite

/// The site's answers, without HTTP: the same JSON as `inspect --json`, and
/// every hostile or malformed request refused with a 4xx that says why, with
/// nothing outside the directory read and every file left as it was.
struct JournalSiteTests {
    /// A directory holding one `split` recording with faults (stepped vCPUs, no inhibit).
    static func directory(transactions: Int = 60) throws -> (TemporaryDirectory, site: JournalSite) {
        let dir = makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("journals"), withIntermediateDirectories: true)
        var configuration = RunConfiguration(scenario: .split, vcpus: 2, transactions: transactions, seed: 3, inhibit: false,
                                             vcpuMode: .stepping)
        configuration.drainTimeoutNs = nil
        try record(configuration, to: dir.file("journals/run.journal"))
        return (dir, JournalSite(directory: dir.file("journals")))
    }

    /// `memjournal inspect ARGS --json` run in `dir`, parsed.
    static func inspect(_ arguments: [String], in dir: String) throws -> JSONValue {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: memjournalExecutable)
        process.arguments = ["inspect"] + arguments + ["--json"]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONParser.parse(Array(bytes))
    }

    static func json(_ response: SiteResponse) throws -> JSONValue {
        #expect(response.status == 200 && response.contentType == "application/json", "\(String(decoding: response.body, as: UTF8.self))")
        return try JSONParser.parse(response.body)
    }

    @Test func theAPIAnswersWhatInspectPrints() throws {
        let (dir, site) = try Self.directory()
        let journals = dir.file("journals")
        #expect(try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/summary"))
                == Self.inspect(["run.journal", "summary"], in: journals))
        #expect(try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/transactions?from=5&to=40"))
                == Self.inspect(["run.journal", "list", "--from", "5", "--to", "40"], in: journals))
        #expect(try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/transactions"))
                == Self.inspect(["run.journal", "list"], in: journals))
        #expect(try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/map?at=30"))
                == Self.inspect(["run.journal", "map", "--at", "30"], in: journals))
        // The listing: one row, with the counts the summary gives.
        let rows = try Self.json(site.respond(method: "GET", target: "/api/journals"))
        let summary = try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/summary"))
        guard case .array(let list) = rows, list.count == 1 else { Issue.record("\(rows.text)"); return }
        #expect(list[0]["name"] == .string("run.journal") && list[0]["state"] == .string("clean"))
        #expect(list[0]["transactions"] == summary["transactions"] && list[0]["faults"] == summary["spurious_faults"])
        #expect(list[0]["recording"] == .bool(false))
        if case .number(let faults)? = list[0]["faults"] { #expect(Int(faults)! > 0) }  // the split run does fault
        // The page and the report are HTML.
        #expect(site.respond(method: "GET", target: "/").contentType.hasPrefix("text/html"))
        let report = site.respond(method: "GET", target: "/journals/run.journal")
        #expect(report.status == 200 && String(decoding: report.body, as: UTF8.self).contains("run.journal"))
    }

    @Test(arguments: [
        // Traversal, raw and encoded, and names that are not journal names.
        ("/api/journals/../secret.journal/summary", 400), ("/api/journals/%2e%2e/secret.journal/summary", 400),
        ("/journals/..%2Fsecret.journal", 400), ("/api/journals/.hidden.journal/summary", 400),
        ("/api/journals/a%00b.journal/summary", 400), ("/api/journals/run.txt/summary", 400),
        ("/api/journals/%zz.journal/summary", 400), ("/api/journals/run.journal/../../etc/passwd", 400),
        // Unknown journals, paths and a link out of the directory.
        ("/api/journals/none.journal/summary", 404), ("/api/journals/link.journal/summary", 404), ("/nothing", 404),
        ("/api/journals/run.journal/other", 404),
        // Bad parameters.
        ("/api/journals/run.journal/transactions?from=99999999999999999999999", 400),
        ("/api/journals/run.journal/transactions?from=18446744073709551615", 400),
        ("/api/journals/run.journal/transactions?from=-1", 400), ("/api/journals/run.journal/transactions?from=1e3", 400),
        ("/api/journals/run.journal/transactions?from=9&to=3", 400),
        ("/api/journals/run.journal/transactions?from=1&from=2", 400),
        ("/api/journals/run.journal/transactions?since=1", 400), ("/api/journals/run.journal/map", 400),
        ("/api/journals/run.journal/map?at=x", 400), ("/api/journals/run.journal/map?at=100000", 404),
        ("/api/journals/run.journal/summary?verbose=1", 400), ("/?x=1", 400), ("relative", 400),
    ])
    func hostileAndMalformedRequestsAreRefusedSayingWhy(_ target: String, _ status: Int) throws {
        let (dir, site) = try Self.directory(transactions: 20)
        // A journal outside the directory, reachable only by traversal or through a link.
        try FileManager.default.copyItem(atPath: dir.file("journals/run.journal"), toPath: dir.file("secret.journal"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("journals/link.journal"), withDestinationPath: dir.file("secret.journal"))
        let before = try Self.snapshot(dir.path)
        let response = site.respond(method: "GET", target: target)
        #expect(response.status == status, "\(String(decoding: response.body, as: UTF8.self))")
        let problem = try JSONParser.parse(response.body)
        if case .string(let message)? = problem["error"] { #expect(!message.isEmpty) } else { Issue.record("no error message") }
        #expect(try Self.snapshot(dir.path) == before)
    }

    @Test func onlyGETIsServedAndADamagedJournalIsAProblemNotAFailure() throws {
        let (dir, site) = try Self.directory(transactions: 10)
        #expect(site.respond(method: "POST", target: "/api/journals").status == 405)
        #expect(site.respond(method: "DELETE", target: "/api/journals/run.journal/summary").status == 405)
        try Data("not a journal at all".utf8).write(to: URL(fileURLWithPath: dir.file("journals/bad.journal")))
        #expect(site.respond(method: "GET", target: "/api/journals/bad.journal/summary").status == 422)
        let rows = try Self.json(site.respond(method: "GET", target: "/api/journals"))
        guard case .array(let list) = rows, list.count == 2 else { Issue.record("\(rows.text)"); return }
        #expect(list[0]["name"] == .string("bad.journal") && list[0]["problem"] != nil)
        #expect(list[1]["name"] == .string("run.journal") && list[1]["problem"] == nil)
    }

    @Test func aPageOfTransactionsIsBoundedAndReadingLeavesEveryFileAsItWas() throws {
        let (dir, site) = try Self.directory(transactions: 30)
        let before = try Self.snapshot(dir.path)
        let all = try Self.json(site.respond(method: "GET", target: "/api/journals/run.journal/transactions?from=1"))
        guard case .array(let rows) = all else { Issue.record("\(all.text)"); return }
        #expect(rows.count >= 30)
        let past = site.respond(method: "GET", target: "/api/journals/run.journal/transactions?from=1&to=\(1 + JournalSite.pageLimit)")
        #expect(past.status == 400)
        _ = site.respond(method: "GET", target: "/journals/run.journal")
        _ = site.respond(method: "GET", target: "/api/journals")
        #expect(try Self.snapshot(dir.path) == before)
    }

    /// Every file under `path` (recursively) with its bytes.
    static func snapshot(_ path: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let name = enumerator?.nextObject() as? String {
            let full = path + "/" + name
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = FileManager.default.contents(atPath: full)
            }
        }
        return files
    }
}
