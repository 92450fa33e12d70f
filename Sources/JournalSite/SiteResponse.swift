import JSON

/// What the site answers: a status, a media type and the body's bytes. Errors
/// are answered, never thrown: every refusal is a 4xx with a sentence saying
/// what was wrong and what to ask instead.
public struct SiteResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    static func json(_ value: JSONValue) -> SiteResponse {
        SiteResponse(status: 200, contentType: "application/json", body: value.utf8Text)
    }

    static func html(_ text: String) -> SiteResponse {
        SiteResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
    }

    /// A refusal: `{"error": message}` with its status.
    static func problem(_ status: Int, _ message: String) -> SiteResponse {
        SiteResponse(status: status, contentType: "application/json",
                     body: JSONValue.orderedObject([("error", .string(message))]).utf8Text)
    }
}
