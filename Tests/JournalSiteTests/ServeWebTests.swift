import Foundation
import JSON
import Testing
import Harness
import Scenarios
import TestSupport

/// `memjournal serve --http`: the API over real HTTP, hostile bytes on the wire,
/// and the page in a real browser while a journal is being written.
@Suite(.serialized) struct ServeWebTests {
    @Test func theAPIOverHTTPIsWhatInspectPrintsAndHostileRequestsAreRefused() throws {
        let serve = try ServeWeb(withSocket: false)
        var configuration = RunConfiguration(scenario: .split, vcpus: 2, transactions: 40, seed: 5, inhibit: false,
                                             vcpuMode: .stepping)
        configuration.drainTimeoutNs = nil
        try record(configuration, to: serve.journals + "/run.journal")
        let summary = try serve.get("/api/journals/run.journal/summary")
        #expect(summary.status == 200)
        #expect(try JSONParser.parse(summary.body) == JournalSiteTests.inspect(["run.journal", "summary"], in: serve.journals))
        let page = try serve.get("/api/journals/run.journal/transactions?from=2&to=30")
        #expect(try JSONParser.parse(page.body)
                == JournalSiteTests.inspect(["run.journal", "list", "--from", "2", "--to", "30"], in: serve.journals))
        let map = try serve.get("/api/journals/run.journal/map?at=20")
        #expect(try JSONParser.parse(map.body) == JournalSiteTests.inspect(["run.journal", "map", "--at", "20"], in: serve.journals))

        // On the wire: traversal, a NUL, a huge number, an unknown journal, another method.
        #expect(try serve.get("/api/journals/../../etc/passwd").status == 400)
        #expect(try serve.get("/journals/%2e%2e%2f%2e%2e%2fetc%2fpasswd").status == 400)
        #expect(try serve.send(Array("GET /api/journals/a\0b.journal/summary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)).status == 400)
        #expect(try serve.get("/api/journals/run.journal/transactions?from=123456789012345678901234567890").status == 400)
        #expect(try serve.get("/api/journals/nobody.journal/summary").status == 404)
        #expect(try serve.send(Array("DELETE /api/journals/run.journal/summary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)).status == 405)
        #expect(FileManager.default.fileExists(atPath: serve.journals + "/run.journal"))
        #expect(serve.stop() == 0, "\(serve.errors)")
    }

    @Test func onlyLoopbackAndAFreePortAreServed() throws {
        let dir = makeTemporaryDirectory()
        func serve(_ address: String) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: memjournalExecutable)
            process.arguments = ["serve", "--http", address, "--dir", dir.file("j")]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        let (open, why) = try serve("0.0.0.0:0")
        #expect(open == 64 && why.contains("loopback"), "\(why)")
        let running = try ServeWeb(withSocket: false)
        let (taken, said) = try serve("127.0.0.1:\(running.port)")
        #expect(taken == 64 && said.contains("cannot serve HTTP"), "\(said)")
        #expect(running.stop() == 0)
    }

    @Test(Chromium.required)
    func aJournalRecordedWhileThePageIsOpenAppearsAndGrowsAndOpensAsItsReport() throws {
        let serve = try ServeWeb()
        let page = try BrowserPage("http://127.0.0.1:\(serve.port)/")
        try page.waitUntil("document.getElementById('status').textContent.startsWith('0 journal')")
        let vmm = try VMMStandIn(serve.socket)
        vmm.transactions(3)
        // It appears, being recorded, with the transactions closed so far.
        try page.waitUntil("""
            (() => { const row = document.querySelector('#journals tbody tr.journal');
                     return row !== null && row.classList.contains('recording')
                         && Number(row.querySelector('td.transactions').textContent) >= 3; })()
            """)
        let count = { () throws -> Int in
            guard case .number(let n) = try page.evaluate("Number(document.querySelector('#journals tbody tr td.transactions').textContent)")
            else { return -1 }
            return Int(Double(n) ?? -1)
        }
        let before = try count()
        vmm.transactions(20)
        try page.waitUntil("Number(document.querySelector('#journals tbody tr td.transactions').textContent) >= \(before + 20)")
        vmm.goodbye()
        // Sealed: no longer recording, clean, and what the page shows is what the API says.
        try page.waitUntil("document.querySelector('#journals tbody tr').classList.contains('clean')")
        let rows = try JSONParser.parse(try serve.get("/api/journals").body)
        guard case .array(let list) = rows, list.count == 1, case .string(let name)? = list[0]["name"] else {
            Issue.record("\(rows.text)"); return
        }
        #expect(try page.evaluate("document.querySelector('#journals tbody tr td.transactions').textContent")
                == .string(list[0]["transactions"].map { if case .number(let n) = $0 { n } else { "?" } } ?? "?"))
        #expect(try page.evaluate("document.querySelector('#journals tbody tr td.state').textContent") == .string("clean"))
        #expect(page.problems.isEmpty, "\(page.problems)")

        // Its link opens its report, which draws a mark per transaction.
        _ = try page.evaluate("document.querySelector('#journals tbody tr td.name a').click()")
        try page.waitUntil("document.querySelector('[data-rendered=\"yes\"]') !== null")
        #expect(try page.evaluate("location.pathname") == .string("/journals/\(name)"))
        #expect(try page.evaluate("document.querySelectorAll('g.tx').length") == list[0]["transactions"])
        #expect(page.problems.isEmpty, "\(page.problems)")
        #expect(serve.stop() == 0, "\(serve.errors)")
    }
}
