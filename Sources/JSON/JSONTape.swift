/// One parsed line as a flat list of tokens over its bytes, in document order:
/// an object's token is followed by each member's key token and then the
/// member's value (with everything inside it), an array's by its elements.
/// Nothing is decoded until asked for: `JSONFields` reads numbers, hex strings
/// and keys straight from the bytes, so reading a line of the canonical form
/// allocates its token list and the strings it keeps, not a tree.
/// `value(at:)` builds the `JSONValue` tree of any token when one is wanted.
public struct JSONTape: Sendable {
    public enum Kind: UInt8, Sendable {
        case null, `true`, `false`, number, string, array, object

        /// A short name of the type, for messages ("expected a string, found a number").
        public var typeName: String {
            switch self {
            case .null: "null"
            case .true, .false: "a boolean"
            case .number: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
    }

    struct Token: Sendable {
        var kind: Kind
        /// The value's bytes (a string's between its quotes).
        var start: Int32
        var end: Int32
        /// The index of the token after this value and everything inside it.
        var next: Int32
        /// An object's members, an array's elements; for a string with escapes,
        /// 1 + its index in `decoded` (0: no escapes, the bytes are the string).
        var count: Int32
    }

    let bytes: [UInt8]
    var tokens: [Token] = []
    /// Strings that had escapes, decoded while parsing (rare in the canonical form).
    var decoded: [String] = []

    init(bytes: [UInt8]) {
        self.bytes = bytes
        tokens.reserveCapacity(bytes.count / 8)
    }

    /// The kind of the top-level value.
    public var rootKind: Kind { tokens[0].kind }

    func kind(_ index: Int) -> Kind { tokens[index].kind }

    /// The text of string token `index`, decoded.
    func string(_ index: Int) -> String {
        let t = tokens[index]
        if t.count > 0 { return decoded[Int(t.count) - 1] }
        return String(decoding: bytes[Int(t.start)..<Int(t.end)], as: UTF8.self)
    }

    /// The UTF-8 bytes of string token `index` (decoded when it had escapes) to `body`.
    func withStringBytes<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let t = tokens[index]
        if t.count > 0 {
            var s = decoded[Int(t.count) - 1]
            return s.withUTF8(body)
        }
        return withBytes(index, body)
    }

    /// The bytes of token `index` as the line has them (a number's text, a string's without quotes).
    func withBytes<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let t = tokens[index]
        return bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[Int(t.start)..<Int(t.end)])) }
    }

    /// Whether string token `index` reads as `key`.
    func string(_ index: Int, equals key: String) -> Bool {
        let t = tokens[index]
        if t.count > 0 { return decoded[Int(t.count) - 1] == key }
        let start = Int(t.start), length = Int(t.end - t.start)
        let equal = key.utf8.withContiguousStorageIfAvailable { k -> Bool in
            k.count == length && bytes.withUnsafeBufferPointer { b in Self.same(k.baseAddress, b.baseAddress! + start, length) }
        }
        return equal ?? key.utf8.elementsEqual(bytes[start..<start + length])
    }

    /// Whether key token `key` (just parsed) repeats one of the first `count`
    /// member keys of object `object`.
    func repeats(_ key: Int, in object: Int, count: Int) -> Bool {
        tokens.withUnsafeBufferPointer { tokens in
            let k = tokens[key]
            let length = Int(k.end - k.start)
            var other = object + 1
            for _ in 0..<count {
                let o = tokens[other]
                if o.count > 0 || k.count > 0 {
                    if string(other) == string(key) { return true }
                } else if Int(o.end - o.start) == length, bytes.withUnsafeBufferPointer({ b in
                    Self.same(b.baseAddress! + Int(o.start), b.baseAddress! + Int(k.start), length)
                }) {
                    return true
                }
                other = Int(tokens[other + 1].next)
            }
            return false
        }
    }

    /// Whether `length` bytes at `a` and `b` are equal.
    private static func same(_ a: UnsafePointer<UInt8>?, _ b: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        guard length > 0, let a else { return length == 0 }
        for offset in 0..<length where a[offset] != b[offset] { return false }
        return true
    }

    /// The text of number token `index`.
    func numberText(_ index: Int) -> String {
        let t = tokens[index]
        return String(decoding: bytes[Int(t.start)..<Int(t.end)], as: UTF8.self)
    }

    /// The token of the first member's key of object `index` (then each key's
    /// value is the next token, and the next key follows that value).
    func firstMember(_ index: Int) -> Int { index + 1 }
    func nextMember(after key: Int) -> Int { Int(tokens[key + 1].next) }
    func count(_ index: Int) -> Int { Int(tokens[index].count) }

    /// The first element of array `index`, and the one after `element`.
    func firstElement(_ index: Int) -> Int { index + 1 }
    func nextElement(after element: Int) -> Int { Int(tokens[element].next) }

    /// Token `index` as a `JSONValue` tree.
    public func value(at index: Int) -> JSONValue {
        let t = tokens[index]
        switch t.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return .number(numberText(index))
        case .string: return .string(string(index))
        case .array:
            var items: [JSONValue] = []
            items.reserveCapacity(Int(t.count))
            var element = index + 1
            for _ in 0..<t.count {
                items.append(value(at: element))
                element = Int(tokens[element].next)
            }
            return .array(items)
        case .object:
            var members: [(key: String, value: JSONValue)] = []
            members.reserveCapacity(Int(t.count))
            var key = index + 1
            for _ in 0..<t.count {
                members.append((string(key), value(at: key + 1)))
                key = Int(tokens[key + 1].next)
            }
            return .object(members)
        }
    }
}
