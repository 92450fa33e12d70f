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
    public var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    public func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { out += "," }
                JSONValue.appendQuoted(member.key, to: &out)
                out += ":"
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    /// An object too long to hold, written in pieces: this opening — the members
    /// `before`, then `key` and the `[` of its array — the array's elements
    /// (`element`, in order), then `objectClosing`. Together, the text `text`
    /// gives for the whole object.
    public static func objectOpening(_ before: [(String, JSONValue)], array key: String) -> String {
        var out = "{"
        for (name, value) in before {
            out += quote(name) + ":"
            value.write(to: &out)
            out += ","
        }
        return out + quote(key) + ":["
    }

    /// Element `index` of the streamed array: its text, after a comma unless it is the first.
    public static func element(_ value: JSONValue, index: Int) -> String {
        var out = index == 0 ? "" : ","
        value.write(to: &out)
        return out
    }

    /// The end of the streamed array, then the members `after` it and the object's `}`.
    public static func objectClosing(after: [(String, JSONValue)] = []) -> String {
        var out = "]"
        for (name, value) in after {
            out += "," + quote(name) + ":"
            value.write(to: &out)
        }
        return out + "}"
    }

    /// `s` as a JSON string literal — the one escaper of everything the project writes.
    public static func quote(_ s: String) -> String {
        var out = ""
        appendQuoted(s, to: &out)
        return out
    }

    /// Appends `quote(s)` to `out`; a string with nothing to escape (every key and
    /// almost every value the project writes) is appended whole.
    static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
