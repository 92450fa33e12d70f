/// A parsed JSON value, kept exactly as written where precision matters:
/// numbers stay as their text and are converted only by the typed accessors of
/// `JSONFields`, which check ranges — no value ever passes through `Double`, so
/// no integer is silently rounded and no overflow traps.
///
/// Objects keep their members in order (duplicates are refused by the parser).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
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
    var typeName: String {
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

/// Why a line could not be read; turned into `JournalError.malformed` with the
/// file and line by the caller.
struct LineError: Error {
    var detail: String
    init(_ detail: String) { self.detail = detail }
}

/// A strict RFC 8259 parser for one line of UTF-8 (no trailing data, no NUL in
/// strings, no lone surrogates, nesting bounded by `maxDepth`). It allocates
/// nothing larger than the line it is given, which the caller has bounded.
struct JSONParser {
    static let maxDepth = 16
    /// Longest number text accepted (a u64 has 20 digits; anything longer is
    /// refused before conversion is even tried).
    static let maxNumberLength = 40

    private let bytes: [UInt8]
    private var i = 0

    /// Parses `bytes` (one line, without its newline) as a single JSON value.
    static func parse(_ bytes: [UInt8]) throws(LineError) -> JSONValue {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw LineError("not valid UTF-8") }
        var parser = JSONParser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ what: String) -> LineError { LineError("invalid JSON at column \(i + 1): \(what)") }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0d || bytes[i] == 0x0a { i += 1 }
    }

    private mutating func value(depth: Int) throws(LineError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("nested more than \(Self.maxDepth) levels deep") }
        guard i < bytes.count else { throw error("unexpected end of line (is the line cut short?)") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[i]).escaped(asASCII: true))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(LineError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - i >= count else { throw error("unexpected end of line") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[i + $0] == expected[$0] }
        }
        guard matches else { throw error("unknown word (expected \(word))") }
        i += count
    }

    private mutating func object(depth: Int) throws(LineError) -> JSONValue {
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let key = try string()
            guard keys.insert(key).inserted else { throw error("duplicate key \"\(key)\"") }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after \"\(key)\"") }
            i += 1
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of line inside an object (is the line cut short?)") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func array(depth: Int) throws(LineError) -> JSONValue {
        i += 1
        var elements: [JSONValue] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return .array(elements)
        }
        while true {
            skipSpace()
            elements.append(try value(depth: depth + 1))
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of line inside an array (is the line cut short?)") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(elements) }
            throw error("expected ',' or ']' in an array")
        }
    }

    /// RFC 8259 number grammar; the text is kept, not converted.
    private mutating func number() throws(LineError) -> JSONValue {
        let start = i
        func digits(_ i: inout Int, _ bytes: [UInt8]) -> Int {
            let s = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - s
        }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else {
            throw error("a number needs digits")
        }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
            if i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                throw error("leading zeros are not allowed in numbers")
            }
        } else {
            _ = digits(&i, bytes)
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&i, bytes) > 0 else { throw error("digits expected after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits(&i, bytes) > 0 else { throw error("digits expected in the exponent") }
        }
        guard i - start <= Self.maxNumberLength else {
            throw error("number with \(i - start) characters is far too large for any field")
        }
        return .number(String(decoding: bytes[start..<i], as: UTF8.self))
    }

    private mutating func string() throws(LineError) -> String {
        i += 1
        var scalars = String.UnicodeScalarView()
        var runStart = i
        func flush(_ end: Int) {
            if end > runStart { scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars) }
        }
        while true {
            guard i < bytes.count else { throw error("unterminated string (is the line cut short?)") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                flush(i)
                i += 1
                return String(scalars)
            }
            if c < 0x20 { throw error("control character in a string (write it as \\u00XX)") }
            if c != UInt8(ascii: "\\") {
                i += 1
                continue
            }
            flush(i)
            i += 1
            guard i < bytes.count else { throw error("unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var unit = try hex4()
                if (0xD800...0xDBFF).contains(unit) {
                    guard bytes.count - i >= 2, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate \\u\(String(unit, radix: 16))")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate \\u\(String(unit, radix: 16))") }
                    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw error("unpaired surrogate \\u\(String(unit, radix: 16))")
                }
                guard unit != 0 else { throw error("NUL (\\u0000) is not allowed in strings") }
                guard let scalar = Unicode.Scalar(unit) else { throw error("invalid \\u escape") }
                scalars.append(scalar)
            default:
                throw error("unknown escape '\\\(Unicode.Scalar(e).escaped(asASCII: true))'")
            }
            runStart = i
        }
    }

    private mutating func hex4() throws(LineError) -> UInt32 {
        guard bytes.count - i >= 4 else { throw error("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("\\u needs four hex digits")
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }
}

/// Reads the members of one JSON object field by field, checking each value's
/// type and domain, and refusing missing and unknown keys. `context` names the
/// object in messages ("slot_ops[3]"), so an error says which field of which
/// element is wrong.
struct JSONFields {
    let context: String
    private let members: [String: JSONValue]
    private let order: [String]
    private var used = Set<String>()

    init(_ value: JSONValue, context: String) throws(LineError) {
        guard case .object(let list) = value else {
            throw LineError(context.isEmpty
                ? "expected a JSON object on this line, found \(value.typeName)"
                : "\(context): expected an object, found \(value.typeName)")
        }
        self.context = context
        var members: [String: JSONValue] = [:]
        for (key, value) in list { members[key] = value }
        self.members = members
        order = list.map(\.key)
    }

    private func name(_ key: String) -> String { context.isEmpty ? key : "\(context).\(key)" }

    func has(_ key: String) -> Bool { members[key] != nil }

    /// The raw value of `key` (required).
    mutating func value(_ key: String) throws(LineError) -> JSONValue {
        guard let value = members[key] else { throw LineError("missing key \"\(name(key))\"") }
        used.insert(key)
        return value
    }

    /// nil when the value is JSON null (the key itself is still required).
    mutating func nullable<T>(_ key: String, _ read: (inout JSONFields, String) throws(LineError) -> T)
        throws(LineError) -> T?
    {
        if try value(key) == .null { return nil }
        return try read(&self, key)
    }

    mutating func bool(_ key: String) throws(LineError) -> Bool {
        guard case .bool(let b) = try value(key) else { throw typeError(key, "true or false") }
        return b
    }

    /// A string of at most `maxBytes` UTF-8 bytes.
    mutating func string(_ key: String, maxBytes: Int = CanonicalJSONL.maxStringBytes) throws(LineError) -> String {
        guard case .string(let s) = try value(key) else { throw typeError(key, "a string") }
        guard s.utf8.count <= maxBytes else {
            throw LineError("\(name(key)): string of \(s.utf8.count) bytes exceeds the limit of \(maxBytes)")
        }
        return s
    }

    /// One of the raw values of a `String`-backed enum.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws(LineError) -> E
        where E.RawValue == String
    {
        let text = try string(key, maxBytes: 64)
        guard let value = E(rawValue: text) else {
            throw LineError("\(name(key)): \"\(text)\" is not one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return value
    }

    /// A JSON integer within `range` (exact; never through floating point).
    mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(LineError) -> Int64 {
        guard case .number(let text) = try value(key) else { throw typeError(key, "an integer") }
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            throw LineError("\(name(key)): \(text) is not an integer")
        }
        guard let v = Int64(text), range.contains(v) else {
            throw LineError("\(name(key)): \(text) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(LineError) -> Int {
        Int(try integer(key, in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    mutating func u32(_ key: String) throws(LineError) -> UInt32 {
        UInt32(try integer(key, in: 0...Int64(UInt32.max)))
    }

    /// A u64 written as a "0x…" string of 1 to 16 hex digits.
    mutating func hex64(_ key: String) throws(LineError) -> UInt64 {
        guard case .string(let text) = try value(key) else { throw typeError(key, "a \"0x…\" hex string") }
        let utf8 = Array(text.utf8)
        guard utf8.count > 2, utf8[0] == UInt8(ascii: "0"), utf8[1] == UInt8(ascii: "x") else {
            throw LineError("\(name(key)): \"\(text.prefix(40))\" is not a \"0x…\" hex string")
        }
        guard utf8.count <= 18 else { throw LineError("\(name(key)): \(text.prefix(40)) does not fit in 64 bits") }
        let isHexDigit = { (c: UInt8) in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(c)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(c)
        }
        guard utf8.dropFirst(2).allSatisfy(isHexDigit), let v = UInt64(text.dropFirst(2), radix: 16) else {
            throw LineError("\(name(key)): \"\(text)\" is not a \"0x…\" hex string")
        }
        return v
    }

    /// The elements of an array, each read by `element` with its index.
    mutating func array<T>(_ key: String, _ element: (JSONValue, String) throws(LineError) -> T) throws(LineError) -> [T] {
        guard case .array(let values) = try value(key) else { throw typeError(key, "an array") }
        var result: [T] = []
        result.reserveCapacity(values.count)
        for (index, v) in values.enumerated() { result.append(try element(v, "\(name(key))[\(index)]")) }
        return result
    }

    /// The nested object under `key`.
    mutating func object(_ key: String) throws(LineError) -> JSONFields {
        try JSONFields(try value(key), context: name(key))
    }

    /// Refuses keys that were never read: a misspelt or foreign field is an error,
    /// not silently dropped data.
    func finish() throws(LineError) {
        if let unknown = order.first(where: { !used.contains($0) }) {
            throw LineError("unknown key \"\(name(unknown))\"")
        }
    }

    private func typeError(_ key: String, _ expected: String) -> LineError {
        LineError("\(name(key)): expected \(expected), found \(members[key]?.typeName ?? "nothing")")
    }
}
