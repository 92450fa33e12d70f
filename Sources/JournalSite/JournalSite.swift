import Analysis
import JSON
import JournalStore
import Report

/// The journal service's web face, as plain requests and answers (the HTTP
/// server in `serve --http` only carries them): a page listing the journals of
/// one directory that updates itself while they are recorded, each journal's
/// HTML report, and the same data as JSON — the JSON `inspect --json` prints,
/// from the same writer.
///
///     GET /                                         the listing page
///     GET /journals/NAME                            NAME's report
///     GET /api/journals                             the listing's rows
///     GET /api/journals/NAME/summary                inspect NAME summary --json
///     GET /api/journals/NAME/transactions?from=&to= inspect NAME list --from --to --json
///     GET /api/journals/NAME/map?at=N               inspect NAME map --at N --json
///     GET /favicon.ico                              204: no icon (browsers ask)
///
/// Reads open journals read-only (an older schema is migrated on a private
/// copy) and never touch a file outside the directory.
public final class JournalSite: Sendable {
    public let directory: String
    private let recording: @Sendable () -> Set<String>
    private let listing: JournalListing

    /// Most transactions one `transactions` request returns.
    public static let pageLimit: UInt64 = 10_000

    /// `recording` gives the paths the service is writing now.
    public init(directory: String, recording: @escaping @Sendable () -> Set<String> = { [] }) {
        self.directory = directory
        self.recording = recording
        listing = JournalListing(directory: directory)
    }

    /// Answers one request: `target` is the request target as sent (path and query, percent-encoded).
    public func respond(method: String, target: String) -> SiteResponse {
        guard method == "GET" || method == "HEAD" else { return .problem(405, "only GET is served here") }
        guard target.hasPrefix("/"), !target.utf8.contains(0) else { return .problem(400, "the request target must be a path") }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let segments = parts[0].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.contains(where: { segment in
            let decoded = JournalName.percentDecoded(segment)
            return decoded == nil || decoded == ".." || decoded == "." || decoded!.contains("/")
        }) {
            return .problem(400, "path traversal is refused: name a journal of this directory")
        }
        let query: [String: String]
        switch Self.parameters(parts.count > 1 ? parts[1] : "") {
        case .success(let parsed): query = parsed
        case .failure(let problem): return problem.response
        }
        let route = Array(segments)
        if route == ["favicon.ico"] {  // asked by every browser for a served report; there is none, and that is no error
            return SiteResponse(status: 204, contentType: "image/x-icon", body: [])
        }
        if route.isEmpty || route == [""] {
            return query.isEmpty ? .html(ListingPage.html(directory: directory)) : .problem(400, "/ takes no parameters")
        }
        switch route.count {
        case 2 where route[0] == "journals":
            return withJournal(route[1]) { name, _ throws(JournalError) in try .html(HTMLReport.page(name.path)) }
        case 2 where route[0] == "api" && route[1] == "journals":
            return query.isEmpty ? .json(listing.rows(recording: recording())) : .problem(400, "/api/journals takes no parameters")
        case 4 where route[0] == "api" && route[1] == "journals":
            let name = route[2]
            switch route[3] {
            case "summary":
                guard query.isEmpty else { return .problem(400, "summary takes no parameters") }
                return withJournal(name) { name, reader throws(JournalError) in try .json(JournalJSON.summary(reader, journal: name.name)) }
            case "transactions": return transactions(name, query)
            case "map": return map(name, query)
            default: break
            }
        default: break
        }
        return .problem(404, "nothing at \(parts[0].prefix(120)): see GET / for the journals and GET /api/journals for their JSON")
    }

    private func transactions(_ name: Substring, _ query: [String: String]) -> SiteResponse {
        if let unknown = query.keys.first(where: { $0 != "from" && $0 != "to" }) {
            return .problem(400, "unknown parameter '\(unknown)': transactions takes from and to")
        }
        var from: UInt64?, to: UInt64?
        do throws(SiteProblem) {
            if let text = query["from"] { from = try Self.sequence(text, "from") }
            if let text = query["to"] { to = try Self.sequence(text, "to") }
        } catch {
            return error.response
        }
        return withJournal(name) { _, reader throws(JournalError) in
            guard let (first, last) = try reader.sequenceBounds() else { return .json(.array([])) }
            let start = from ?? first
            guard start <= last else {
                return .problem(400, "from \(start) is past the last transaction: this journal holds \(first)…\(last)")
            }
            let end = to ?? min(last, start &+ Self.pageLimit - 1)
            guard start <= end else { return .problem(400, "from \(start) is after to \(end)") }
            guard end - start < Self.pageLimit else {
                return .problem(400, "at most \(Self.pageLimit) transactions per request: narrow from…to")
            }
            let records = try reader.records(from: start, to: end)
            let cut = try reader.cutOffTransactions().filter { $0.sequence >= start && $0.sequence <= end }
            return .json(.array(records.map(JournalJSON.listed) + cut.map(JournalJSON.cutOff)))
        }
    }

    private func map(_ name: Substring, _ query: [String: String]) -> SiteResponse {
        guard query.keys.allSatisfy({ $0 == "at" }), let text = query["at"] else {
            return .problem(400, "map needs at=N, the transaction after which to draw the map")
        }
        let at: UInt64
        do throws(SiteProblem) { at = try Self.sequence(text, "at") } catch { return error.response }
        return withJournal(name) { _, reader throws(JournalError) in
            guard let map = try reader.memoryMap(at: at) else {
                return .problem(404, "no complete transaction \(at) in this journal")
            }
            return .json(JournalJSON.map(map))
        }
    }

    /// Opens the journal `raw` names and answers from it; a bad name is 400,
    /// an unknown one 404, a file that is not a readable journal 422.
    private func withJournal(_ raw: Substring, _ body: (JournalName, JournalReader) throws(JournalError) -> SiteResponse)
        -> SiteResponse
    {
        let name: JournalName
        do { name = try JournalName(raw, in: directory) } catch {
            switch error {
            case .malformed(let why): return .problem(400, why)
            case .unknown(let why): return .problem(404, why)
            }
        }
        do {
            let reader = try JournalReader(path: name.path, migration: .onPrivateCopy)
            return try body(name, reader)
        } catch {
            if case .missing = error { return .problem(404, "\(name.name) is gone") }
            return .problem(422, "\(error)")
        }
    }

    struct SiteProblem: Error {
        var response: SiteResponse
    }

    /// `key=value&…`, percent-decoded; a key twice or a broken escape is refused.
    static func parameters(_ text: Substring) -> Result<[String: String], SiteProblem> {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = JournalName.percentDecoded(halves[0]),
                  let value = JournalName.percentDecoded(halves.count > 1 ? halves[1] : "")
            else { return .failure(SiteProblem(response: .problem(400, "a parameter is not valid percent-encoded UTF-8"))) }
            guard result[key] == nil else {
                return .failure(SiteProblem(response: .problem(400, "parameter '\(key.prefix(40))' is given twice")))
            }
            result[key] = value
        }
        return .success(result)
    }

    /// A transaction number: decimal digits that fit 64 bits.
    static func sequence(_ text: String, _ key: String) throws(SiteProblem) -> UInt64 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = UInt64(text)
        else {
            throw SiteProblem(response: .problem(400, "\(key)=\(text.prefix(40)) is not a transaction number (0…2^64-1)"))
        }
        return value
    }
}
