/// A strict RFC 8259 parser for one line of UTF-8 (no trailing data, no NUL in
/// strings, no lone surrogates, nesting bounded by `maxDepth`). It allocates
/// nothing larger than the line it is given, which the caller has bounded. It
/// checks the whole line and leaves a `JSONTape` of it; `parse` turns that into
/// a `JSONValue` tree.
public struct JSONParser {
    public static let maxDepth = 16
    /// Longest number text accepted (a u64 has 20 digits; anything longer is
    /// refused before conversion is even tried).
    static let maxNumberLength = 40

    /// The line, valid while `tape(_:)` runs (read without bounds checks in release builds).
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var tape: JSONTape

    /// Parses `bytes` (one line, without its newline) as a single JSON value.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        try tape(bytes).value(at: 0)
    }

    /// Parses `bytes` (one line, without its newline) as a single JSON value,
    /// left as tokens (for `JSONFields`).
    public static func tape(_ bytes: [UInt8]) throws(JSONError) -> JSONTape {
        // Token positions are 32-bit (callers bound lines far below: 16 MiB for JSONL).
        guard bytes.count < Int(Int32.max) else { throw JSONError("a line of \(bytes.count) bytes is too long to read") }
        // ASCII (the canonical form's every line) is valid UTF-8 as it is; only a
        // line with other bytes is validated, by building it as a string once.
        let ascii = bytes.withUnsafeBufferPointer { buffer in buffer.allSatisfy { $0 < 0x80 } }
        guard ascii || String(validating: bytes, as: UTF8.self) != nil else { throw JSONError("not valid UTF-8") }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(JSONError) -> JSONTape in
            var parser = JSONParser(bytes: buffer, tape: JSONTape(bytes: bytes))
            parser.skipSpace()
            try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.i == buffer.count else { throw parser.error("unexpected text after the JSON value") }
            return parser.tape
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>, tape: JSONTape) {
        self.bytes = bytes
        self.tape = tape
    }

    /// Completes container token `index` when its last element has been read.
    private mutating func close(_ index: Int, count: Int32) {
        tape.tokens[index].count = count
        tape.tokens[index].next = Int32(tape.tokens.count)
        tape.tokens[index].end = Int32(i)
    }

    /// Appends a token for the value at `start..<end` with nothing inside it.
    private mutating func leaf(_ kind: JSONTape.Kind, _ start: Int, _ end: Int, count: Int32 = 0) {
        let index = Int32(tape.tokens.count)
        tape.tokens.append(JSONTape.Token(kind: kind, start: Int32(start), end: Int32(end), next: index + 1, count: count))
    }

    private func error(_ what: String) -> JSONError { JSONError("invalid JSON at column \(i + 1): \(what)") }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0d || bytes[i] == 0x0a { i += 1 }
    }

    private mutating func value(depth: Int) throws(JSONError) {
        guard depth < Self.maxDepth else { throw error("nested more than \(Self.maxDepth) levels deep") }
        guard i < bytes.count else { throw error("unexpected end of line (is the line cut short?)") }
        let start = i
        switch bytes[i] {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "t"): try literal("true"); leaf(.true, start, i)
        case UInt8(ascii: "f"): try literal("false"); leaf(.false, start, i)
        case UInt8(ascii: "n"): try literal("null"); leaf(.null, start, i)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
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

    private mutating func object(depth: Int) throws(JSONError) {
        let me = tape.tokens.count
        leaf(.object, i, i)
        i += 1
        var count: Int32 = 0
        // Duplicate keys: a scan while the object is small (cheaper than hashing), a set past that.
        var keys = Set<String>()
        // Before the scan, a 64-bit filter of the keys so far (length, first and last
        // byte): a key whose bit is clear repeats none of them. Escapes defeat it
        // (two spellings of one key), so once one is met every key is scanned.
        var filter: UInt64 = 0
        var escapes = false
        defer { close(me, count: count) }
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let key = tape.tokens.count
            try string()
            let duplicate: Bool
            let bit = filterBit(key)
            escapes = escapes || bit == 0
            let mayRepeat = escapes || filter & bit != 0
            filter |= bit
            if count < 24 {
                duplicate = mayRepeat && tape.repeats(key, in: me, count: Int(count))
            } else {
                if keys.isEmpty {
                    var other = tape.firstMember(me)
                    for _ in 0..<count {
                        keys.insert(tape.string(other))
                        other = tape.nextMember(after: other)
                    }
                }
                duplicate = !keys.insert(tape.string(key)).inserted
            }
            guard !duplicate else { throw error("duplicate key \"\(tape.string(key))\"") }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after \"\(tape.string(key))\"") }
            i += 1
            skipSpace()
            try value(depth: depth + 1)
            count += 1
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of line inside an object (is the line cut short?)") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return }
            throw error("expected ',' or '}' in an object")
        }
    }

    /// Key token `key`'s bit in an object's duplicate filter; 0 for a key with escapes.
    private func filterBit(_ key: Int) -> UInt64 {
        let t = tape.tokens[key]
        guard t.count == 0 else { return 0 }
        let start = Int(t.start), length = Int(t.end - t.start)
        let first = length > 0 ? UInt64(bytes[start]) : 0, last = length > 0 ? UInt64(bytes[start + length - 1]) : 0
        return 1 << ((UInt64(length) &* 31 &+ first &* 7 &+ last) & 63)
    }

    private mutating func array(depth: Int) throws(JSONError) {
        let me = tape.tokens.count
        leaf(.array, i, i)
        i += 1
        var count: Int32 = 0
        defer { close(me, count: count) }
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            skipSpace()
            try value(depth: depth + 1)
            count += 1
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of line inside an array (is the line cut short?)") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return }
            throw error("expected ',' or ']' in an array")
        }
    }

    /// RFC 8259 number grammar; the text is kept, not converted.
    private mutating func number() throws(JSONError) {
        let start = i
        func digits(_ i: inout Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
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
        leaf(.number, start, i)
    }

    /// A string token; one with escapes is decoded now (and kept in the tape).
    private mutating func string() throws(JSONError) {
        i += 1
        let start = i
        var scalars = String.UnicodeScalarView()
        var escaped = false
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
                guard escaped else { return leaf(.string, start, i) }
                flush(i)
                tape.decoded.append(String(scalars))
                return leaf(.string, start, i, count: Int32(tape.decoded.count))
            }
            if c < 0x20 { throw error("control character in a string (write it as \\u00XX)") }
            if c != UInt8(ascii: "\\") {
                i += 1
                // The rest of a run of plain bytes, without the checks above on each.
                while i < bytes.count, bytes[i] >= 0x20, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
                continue
            }
            flush(i)
            escaped = true
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

