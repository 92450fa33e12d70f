/// A parsed JSON value, kept exactly as written where precision matters:
/// numbers stay as their text and are converted only by the typed accessors of
/// `JSONFields`, which check ranges — no value ever passes through `Double`, so
/// no integer is silently rounded and no overflow traps.
///
/// Objects keep their members in order (duplicates are refused by the parser).
/// The same value is what the project writes: `text` is its compact form, so
/// one type reads the canonical JSONL and prints every `--json` report.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }

    /// A short name of the value's type, for messages ("expected a string, found a number").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}


// MARK: Writing

extension JSONValue {
    /// A decimal integer.
    public static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }

    /// A u64 as the canonical "0x…" hex string (JSON numbers lose precision past 2^53).
    public static func hex(_ value: UInt64) -> JSONValue { .string("0x" + String(value, radix: 16)) }

    /// A number with `digits` decimals (for measured times in reports).
    public static func decimal(_ value: Double, digits: Int = 3) -> JSONValue {
        guard value.isFinite else { return .null }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        // Whole numbers print without a fraction while Int64 holds them; beyond, in exponent form.
        let whole = rounded == rounded.rounded() && abs(rounded) < 9.0e18
        return .number(whole ? String(Int64(rounded)) : String(rounded))
    }

    /// `value` or null.
    public static func optional<T>(_ value: T?, _ make: (T) -> JSONValue) -> JSONValue {
        value.map(make) ?? .null
    }

    /// An object with its members sorted by key, so a report diffs and parses stably.
    public static func sortedObject(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(members.sorted { $0.0 < $1.0 }.map { (key: $0.0, value: $0.1) })
    }

    /// An object with members in the order given.
    public static func orderedObject(_ members: [(String, JSONValue)]) -> JSONValue {
        .object(members.map { (key: $0.0, value: $0.1) })
    }

    /// The compact text: no spaces, members in order, strings escaped by `quote`.
    public var text: String { String(decoding: utf8Text, as: UTF8.self) }

    /// `text` as UTF-8 bytes, for writing to a file without a String between.
    public var utf8Text: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    /// Appends `text`'s UTF-8 bytes to `out` — the one writer of everything the
    /// project writes as JSON (bytes, not a String: appending to a String costs
    /// a third of an export).
    public func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.appendMember(member.key, member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends one object member, `"key":value`.
    static func appendMember(_ key: String, _ value: JSONValue, to out: inout [UInt8]) {
        appendQuoted(key, to: &out)
        out.append(UInt8(ascii: ":"))
        value.write(to: &out)
    }

    /// An object too long to hold, written in pieces: this opening — the members
    /// `before`, then `key` and the `[` of its array — the array's elements
    /// (`element`, in order), then `objectClosing`. Together, the text `text`
    /// gives for the whole object.
    public static func objectOpening(_ before: [(String, JSONValue)], array key: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (name, value) in before {
            appendMember(name, value, to: &out)
            out.append(UInt8(ascii: ","))
        }
        appendQuoted(key, to: &out)
        out.append(contentsOf: ":[".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Element `index` of the streamed array: its text, after a comma unless it is the first.
    public static func element(_ value: JSONValue, index: Int) -> String {
        var out: [UInt8] = index == 0 ? [] : [UInt8(ascii: ",")]
        value.write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The end of the streamed array, then the members `after` it and the object's `}`.
    public static func objectClosing(after: [(String, JSONValue)] = []) -> String {
        var out: [UInt8] = [UInt8(ascii: "]")]
        for (name, value) in after {
            out.append(UInt8(ascii: ","))
            appendMember(name, value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `s` as a JSON string literal — the one escaper of everything the project writes.
    public static func quote(_ s: String) -> String {
        var out: [UInt8] = []
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `quote(s)`'s bytes to `out`; a string with nothing to escape
    /// (every key and almost every value the project writes) is appended whole.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            guard bytes.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) else {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
                case 0..<0x20:
                    // \u00 and two lowercase hex digits: the high one is 0 or 1.
                    let low = byte & 0xf
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(UInt8(ascii: "0") + (byte >> 4))
                    out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
                // Every other byte, including each of a multi-byte character's, is itself.
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
