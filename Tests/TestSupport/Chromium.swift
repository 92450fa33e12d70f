import Foundation
import Testing
import Sync

/// Debian's headless Chromium, run on a page to get the DOM it rendered and what
/// its console said. The tests that need it skip, saying why, where it cannot start.
public enum Chromium {
    public static let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why Chromium cannot be used here, or nil when it renders a page.
    public static let unavailable: String? = {
        guard binary != nil else { return "chromium is not installed (.ci/run installs Debian's chromium)" }
        do {
            let (dom, _) = try render("about:blank")
            return dom.contains("<html") ? nil : "chromium started but rendered nothing"
        } catch {
            return "chromium cannot start: \(error)"
        }
    }()

    public static let required = ConditionTrait.enabled(if: unavailable == nil, Comment(rawValue: unavailable ?? ""))

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// The DOM of `url` after its scripts ran, and the console lines Chromium logged.
    public static func render(_ url: String) throws -> (dom: String, console: [String]) {
        let dir = makeScratch()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary ?? "/usr/bin/chromium")
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(dir.file("profile"))",
                             "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--window-size=1400,1000",
                             "--dump-dom", url]
        FileManager.default.createFile(atPath: dir.file("out"), contents: nil)
        FileManager.default.createFile(atPath: dir.file("err"), contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("out")))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("err")))
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            throw Failure(description: "chromium did not finish rendering \(url) in 90 s")
        }
        let read = { (name: String) in String(decoding: FileManager.default.contents(atPath: dir.file(name)) ?? Data(), as: UTF8.self) }
        guard process.terminationStatus == 0 else {
            throw Failure(description: "chromium exited \(process.terminationStatus): \(read("err").suffix(500))")
        }
        let console = read("err").split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return (read("out"), console)
    }

    private static func makeScratch() -> TemporaryDirectory {
        do { return try TemporaryDirectory(prefix: "memjournal-chromium") } catch { fatalError("no temporary directory: \(error)") }
    }
}

/// Pieces of a serialized DOM.
public enum DOM {
    /// The text of every element `<tag …class="cls"…>text</tag>` (entities decoded), in order.
    public static func texts(_ dom: String, tag: String, class cls: String) -> [String] {
        let pattern = "<\(tag)[^>]*class=\"\(cls)\"[^>]*>([^<]*)</\(tag)>"
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)).map { match in
            unescape(String(dom[Range(match.range(at: 1), in: dom)!]))
        }
    }

    /// The text of the element with `id` (no nested elements).
    public static func text(_ dom: String, id: String) -> String? {
        let regex = try! NSRegularExpression(pattern: "id=\"\(id)\"[^>]*>([^<]*)<")
        guard let match = regex.firstMatch(in: dom, range: NSRange(dom.startIndex..., in: dom)) else { return nil }
        return unescape(String(dom[Range(match.range(at: 1), in: dom)!]))
    }

    /// How many start tags carry this class attribute value (exactly, or as a first class when `prefix`).
    public static func count(_ dom: String, tag: String, classStartingWith cls: String) -> Int {
        let regex = try! NSRegularExpression(pattern: "<\(tag) [^>]*class=\"\(cls)[ \"]")
        return regex.numberOfMatches(in: dom, range: NSRange(dom.startIndex..., in: dom))
    }

    /// Every value of `attribute` on `tag` elements with class `cls`.
    public static func attributes(_ dom: String, tag: String, class cls: String, attribute: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: "<\(tag) [^>]*class=\"\(cls)[ \"][^>]*\(attribute)=\"([^\"]*)\"")
        return regex.matches(in: dom, range: NSRange(dom.startIndex..., in: dom)).map {
            String(dom[Range($0.range(at: 1), in: dom)!])
        }
    }

    public static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&nbsp;", with: "\u{a0}").replacingOccurrences(of: "&amp;", with: "&")
    }
}
