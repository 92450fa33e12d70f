/// A strict RFC 8259 parser for one line of UTF-8 (no trailing data, no NUL in
/// strings, no lone surrogates, nesting bounded by `maxDepth`). It allocates
/// nothing larger than the line it is given, which the caller has bounded.
public struct JSONParser {
    public static let maxDepth = 16
    /// Longest number text accepted (a u64 has 20 digits; anything longer is
    /// refused before conversion is even tried).
    static let maxNumberLength = 40

    private let bytes: [UInt8]
    private var i = 0

    /// Parses `bytes` (one line, without its newline) as a single JSON value.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        // ASCII (the canonical form's every line) is valid UTF-8 as it is; only a
        // line with other bytes is validated, by building it as a string once.
        let ascii = bytes.withUnsafeBufferPointer { buffer in buffer.allSatisfy { $0 < 0x80 } }
        guard ascii || String(validating: bytes, as: UTF8.self) != nil else { throw JSONError("not valid UTF-8") }
        var parser = JSONParser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ what: String) -> JSONError { JSONError("invalid JSON at column \(i + 1): \(what)") }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0d || bytes[i] == 0x0a { i += 1 }
    }

    private mutating func value(depth: Int) throws(JSONError) -> JSONValue {
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

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - i >= count else { throw error("unexpected end of line") }
        let matches = word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[i + $0] == expected[$0] }
        }
        guard matches else { throw error("unknown word (expected \(word))") }
        i += count
    }

    private mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        // The objects of the canonical form have up to a dozen members: one allocation, not five.
        members.reserveCapacity(12)
        // Duplicate keys: a scan while the object is small (cheaper than hashing), a set past that.
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
            let duplicate: Bool
            if members.count < 24 {
                duplicate = members.contains { $0.key == key }
            } else {
                if keys.isEmpty { keys = Set(members.map(\.key)) }
                duplicate = !keys.insert(key).inserted
            }
            guard !duplicate else { throw error("duplicate key \"\(key)\"") }
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

    private mutating func array(depth: Int) throws(JSONError) -> JSONValue {
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
    private mutating func number() throws(JSONError) -> JSONValue {
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

    private mutating func string() throws(JSONError) -> String {
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
                defer { i += 1 }
                // No escape met (the common case): the bytes are the string.
                if scalars.isEmpty { return String(decoding: bytes[runStart..<i], as: UTF8.self) }
                flush(i)
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

    private mutating func hex4() throws(JSONError) -> UInt32 {
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

