import Harness
import Foundation
import Memslots
import JournalFormats
import JournalStore

/// Replays every canonical journal in a fixtures directory, in both modes.
public enum FixtureCheck {
    /// The verdict on one fixture.
    public struct Result: Sendable {
        public var name: String
        public var transactions: Int
        /// Per mode: nil when it replayed without divergence.
        public var divergences: [(mode: ReplayOptions.Mode, divergence: Divergence)]
        /// A fixture that could not be read or replayed at all.
        public var error: String?
        /// Why the fixture file itself was refused (missing, not a journal, damaged).
        public var refusal: JournalError?

        /// Failed: unreadable, or diverged for a reason that is not a known
        /// difference between the recording backend and this one.
        public var failed: Bool { error != nil || divergences.contains { $0.divergence.explanation == nil } }

        public var line: String {
            if let error { return "FAIL     \(name): \(error)" }
            if divergences.isEmpty { return "ok       \(name) (\(transactions) transactions, sections + slot-ops)" }
            let parts = divergences.map { "\($0.mode.rawValue): \($0.divergence.kind.rawValue) at transaction "
                + "\($0.divergence.sequence)" + ($0.divergence.explanation.map { " — \($0)" } ?? "") }
            return (failed ? "FAIL     " : "differs  ") + "\(name): " + parts.joined(separator: "; ")
        }
    }

    /// The fixtures (`.jsonl` and `.journal` files) of `directory`, sorted by name.
    public static func fixtures(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".jsonl") || $0.hasSuffix(".journal") }.sorted()
            .map { "\(directory)/\($0)" }
    }

    /// Replays the fixture at `path` (canonical JSONL, or a journal: verified
    /// first unless `verify` is false) in both modes.
    public static func check(_ path: String, backend: Backend, verify: Bool = true) -> Result {
        let name = (path as NSString).lastPathComponent
        let contents: JournalContents
        do { contents = try HistoryFile.contents(of: path, verify: verify) } catch {
            return Result(name: name, transactions: 0, divergences: [], error: "\(error)", refusal: error)
        }
        var result = Result(name: name, transactions: contents.records.count, divergences: [], error: nil, refusal: nil)
        for mode in ReplayOptions.Mode.allCases {
            do {
                let report = try ReplayEngine.run(
                    ReplaySource(contents, name: name), options: ReplayOptions(backend: backend, mode: mode))
                if let divergence = report.divergence { result.divergences.append((mode, divergence)) }
            } catch {
                result.error = "\(mode.rawValue) replay could not start: \(error)"
            }
        }
        return result
    }
}
