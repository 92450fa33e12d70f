/// Reads the members of one JSON object field by field, checking each value's
/// type and domain, and refusing missing and unknown keys. `context` names the
/// object in messages ("slot_ops[3]"), so an error says which field of which
/// element is wrong.
public struct JSONFields {
    public let context: String
    /// The object's members in their order. Objects here are small (a dozen keys),
    /// so a key is found by a scan, cheaper than hashing it; `index` takes over for
    /// big ones.
    private let members: [(key: String, value: JSONValue)]
    private let index: [String: Int]?
    /// Which members were read, by position (for `finish`).
    private var used: [Bool]
    public static let maxStringBytes = 64 << 10

    public init(_ value: JSONValue, context: String) throws(JSONError) {
        guard case .object(let list) = value else {
            throw JSONError(context.isEmpty
                ? "expected a JSON object on this line, found \(value.typeName)"
                : "\(context): expected an object, found \(value.typeName)")
        }
        self.context = context
        members = list
        index = list.count > Self.scanLimit
            ? Dictionary(list.enumerated().map { ($0.element.key, $0.offset) }, uniquingKeysWith: { first, _ in first })
            : nil
        used = [Bool](repeating: false, count: list.count)
    }

    /// Objects with more members than this are looked up through a dictionary.
    private static let scanLimit = 24

    /// Where the scan for the next key starts: just past the last key found, since
    /// fields are mostly read in the order they are written.
    private var next = 0

    private mutating func position(_ key: String) -> Int? {
        if let index { return index[key] }
        if next < members.count, members[next].key == key {
            next += 1
            return next - 1
        }
        guard let at = members.firstIndex(where: { $0.key == key }) else { return nil }
        next = at + 1
        return at
    }

    private func name(_ key: String) -> String { context.isEmpty ? key : "\(context).\(key)" }

    public func has(_ key: String) -> Bool {
        if let index { return index[key] != nil }
        return members.contains { $0.key == key }
    }

    /// The raw value of `key` (required).
    public mutating func value(_ key: String) throws(JSONError) -> JSONValue {
        guard let at = position(key) else { throw JSONError("missing key \"\(name(key))\"") }
        used[at] = true
        return members[at].value
    }

    /// nil when the value is JSON null (the key itself is still required).
    public mutating func nullable<T>(_ key: String, _ read: (inout JSONFields, String) throws(JSONError) -> T)
        throws(JSONError) -> T?
    {
        if try value(key) == .null { return nil }
        return try read(&self, key)
    }

    public mutating func bool(_ key: String) throws(JSONError) -> Bool {
        guard case .bool(let b) = try value(key) else { throw typeError(key, "true or false") }
        return b
    }

    /// A string of at most `maxBytes` UTF-8 bytes.
    public mutating func string(_ key: String, maxBytes: Int = JSONFields.maxStringBytes) throws(JSONError) -> String {
        guard case .string(let s) = try value(key) else { throw typeError(key, "a string") }
        guard s.utf8.count <= maxBytes else {
            throw JSONError("\(name(key)): string of \(s.utf8.count) bytes exceeds the limit of \(maxBytes)")
        }
        return s
    }

    /// One of the raw values of a `String`-backed enum.
    public mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws(JSONError) -> E
        where E.RawValue == String
    {
        let text = try string(key, maxBytes: 64)
        guard let value = E(rawValue: text) else {
            throw JSONError("\(name(key)): \"\(text)\" is not one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        return value
    }

    /// A JSON integer within `range` (exact; never through floating point).
    public mutating func integer(_ key: String, in range: ClosedRange<Int64>) throws(JSONError) -> Int64 {
        guard case .number(let text) = try value(key) else { throw typeError(key, "an integer") }
        guard !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            throw JSONError("\(name(key)): \(text) is not an integer")
        }
        guard let v = Int64(text), range.contains(v) else {
            throw JSONError("\(name(key)): \(text) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    public mutating func int(_ key: String, in range: ClosedRange<Int>) throws(JSONError) -> Int {
        Int(try integer(key, in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    public mutating func u32(_ key: String) throws(JSONError) -> UInt32 {
        UInt32(try integer(key, in: 0...Int64(UInt32.max)))
    }

    /// A u64 written as a "0x…" string of 1 to 16 hex digits.
    public mutating func hex64(_ key: String) throws(JSONError) -> UInt64 {
        guard case .string(let text) = try value(key) else { throw typeError(key, "a \"0x…\" hex string") }
        var utf8 = text.utf8.makeIterator()
        guard text.utf8.count > 2, utf8.next() == UInt8(ascii: "0"), utf8.next() == UInt8(ascii: "x") else {
            throw JSONError("\(name(key)): \"\(text.prefix(40))\" is not a \"0x…\" hex string")
        }
        guard text.utf8.count <= 18 else { throw JSONError("\(name(key)): \(text.prefix(40)) does not fit in 64 bits") }
        var value: UInt64 = 0
        while let c = utf8.next() {
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw JSONError("\(name(key)): \"\(text)\" is not a \"0x…\" hex string")
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    /// The elements of an array, each read by `element` with its index.
    public mutating func array<T>(_ key: String, _ element: (JSONValue, String) throws(JSONError) -> T) throws(JSONError) -> [T] {
        guard case .array(let values) = try value(key) else { throw typeError(key, "an array") }
        var result: [T] = []
        result.reserveCapacity(values.count)
        for (index, v) in values.enumerated() { result.append(try element(v, "\(name(key))[\(index)]")) }
        return result
    }

    /// The nested object under `key`.
    public mutating func object(_ key: String) throws(JSONError) -> JSONFields {
        try JSONFields(try value(key), context: name(key))
    }

    /// Refuses keys that were never read: a misspelt or foreign field is an error,
    /// not silently dropped data.
    public func finish() throws(JSONError) {
        if let unknown = used.firstIndex(of: false).map({ members[$0].key }) {
            throw JSONError("unknown key \"\(name(unknown))\"")
        }
    }

    private func typeError(_ key: String, _ expected: String) -> JSONError {
        JSONError("\(name(key)): expected \(expected), found \(members.first { $0.key == key }?.value.typeName ?? "nothing")")
    }
}
