/// Why a JSON text could not be read; the caller adds the file and line.
public struct JSONError: Error, Sendable {
    public var detail: String
    public init(_ detail: String) { self.detail = detail }
}
