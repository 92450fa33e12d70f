/// Reads the members of one JSON object field by field, checking each value's
/// type and domain, and refusing missing and unknown keys. `context` names the
/// object in messages ("slot_ops[3]"), so an error says which field of which
/// element is wrong.
public struct JSONFields {
    /// Where this object sits in its line ("slot_ops[3].measured"), for messages.
    public var context: String { place.description }
    private let place: Place
    /// The line, and the object's token in it: values are read from the bytes
    /// when asked for, never built into a tree first.
    private let tape: JSONTape
    private let object: Int
    private let count: Int
    /// Objects here are small (a dozen keys), so a key is found by a scan,
    /// cheaper than hashing it; `index` (key → member ordinal and key token)
    /// takes over for big ones.
    private let index: [String: (ordinal: Int, key: Int)]?
    /// Which members were read, by ordinal (for `finish`): a bit each, and an
    /// array past 64 members.
    private var usedBits: UInt64 = 0
    private var usedMore: [Bool] = []
    public static let maxStringBytes = 64 << 10

    /// The object `value` (which must be one), read through its compact text.
    public init(_ value: JSONValue, context: String) throws(JSONError) {
        guard case .object = value else { throw Self.notAnObject(value.typeName, context) }
        try self.init(JSONParser.tape(Array(value.text.utf8)), context: context)
    }

    /// The top-level object of a parsed line.
    public init(_ tape: JSONTape, context: String) throws(JSONError) {
        try self.init(tape, token: 0, place: Place(text: context))
    }

    private init(_ tape: JSONTape, token: Int, place: Place) throws(JSONError) {
        guard tape.kind(token) == .object else { throw Self.notAnObject(tape.kind(token).typeName, place.description) }
        self.place = place
        self.tape = tape
        object = token
        count = tape.count(token)
        if count > Self.scanLimit {
            var index: [String: (ordinal: Int, key: Int)] = [:]
            var key = tape.firstMember(token)
            for ordinal in 0..<count {
                index[tape.string(key)] = (ordinal, key)  // the parser refused duplicate keys
                key = tape.nextMember(after: key)
            }
            self.index = index
        } else {
            index = nil
        }
        if count > 64 { usedMore = [Bool](repeating: false, count: count - 64) }
        nextKey = tape.firstMember(token)
    }

    private static func notAnObject(_ typeName: String, _ context: String) -> JSONError {
        JSONError(context.isEmpty
            ? "expected a JSON object on this line, found \(typeName)"
            : "\(context): expected an object, found \(typeName)")
    }

    /// Objects with more members than this are looked up through a dictionary.
    private static let scanLimit = 24

    /// Where the scan for the next key starts: just past the last key found, since
    /// fields are mostly read in the order they are written.
    private var nextOrdinal = 0
    private var nextKey: Int

    /// The member `key`: its ordinal and its key token (the value is the token after it).
    private mutating func position(_ key: String) -> (ordinal: Int, key: Int)? {
        if let index { return index[key] }
        let found = nextOrdinal < count && tape.string(nextKey, equals: key) ? (nextOrdinal, nextKey) : find(key)
        if let found {
            nextOrdinal = found.ordinal + 1
            nextKey = tape.nextMember(after: found.key)
        }
        return found
    }

    /// The member `key`, by a scan from the first.
    private func find(_ key: String) -> (ordinal: Int, key: Int)? {
        var token = tape.firstMember(object)
        for ordinal in 0..<count {
            if tape.string(token, equals: key) { return (ordinal, token) }
            token = tape.nextMember(after: token)
        }
        return nil
    }

    private mutating func markUsed(_ ordinal: Int) {
        if ordinal < 64 { usedBits |= 1 << UInt64(ordinal) } else { usedMore[ordinal - 64] = true }
    }

    private func isUsed(_ ordinal: Int) -> Bool {
        ordinal < 64 ? usedBits & 1 << UInt64(ordinal) != 0 : usedMore[ordinal - 64]
    }

    /// The value token of required member `key`, marked as read.
    private mutating func token(_ key: String) throws(JSONError) -> Int {
        guard let at = position(key) else { throw JSONError("missing key \"\(name(key))\"") }
        markUsed(at.ordinal)
        return at.key + 1
    }

    private func name(_ key: String) -> String { place.appending(key).description }

    /// Marks member `key` (required) as read, when its value was read elsewhere
    /// (through another `JSONFields` of the same line).
    public mutating func markRead(_ key: String) throws(JSONError) {
        _ = try token(key)
    }

    public func has(_ key: String) -> Bool {
        if let index { return index[key] != nil }
        return find(key) != nil
    }

    /// The raw value of `key` (required).
    public mutating func value(_ key: String) throws(JSONError) -> JSONValue {
        tape.value(at: try token(key))
    }

    /// Whether the value of `key` (required) is JSON null.
    public mutating func isNull(_ key: String) throws(JSONError) -> Bool {
        tape.kind(try token(key)) == .null
    }

    /// nil when the value is JSON null (the key itself is still required).
    public mutating func nullable<T>(_ key: String, _ read: (inout JSONFields, String) throws(JSONError) -> T)
        throws(JSONError) -> T?
    {
        if try isNull(key) { return nil }
        return try read(&self, key)
    }

    public mutating func bool(_ key: String) throws(JSONError) -> Bool {
        switch tape.kind(try token(key)) {
        case .true: return true
        case .false: return false
        default: throw typeError(key, "true or false")
        }
    }

    /// A string of at most `maxBytes` UTF-8 bytes.
    public mutating func string(_ key: String, maxBytes: Int = JSONFields.maxStringBytes) throws(JSONError) -> String {
        let t = try token(key)
        guard tape.kind(t) == .string else { throw typeError(key, "a string") }
        let s = tape.string(t)
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
        let t = try token(key)
        guard tape.kind(t) == .number else { throw typeError(key, "an integer") }
        // The digits read straight from the line; the text is made only for a message.
        let parsed: Int64?? = tape.withBytes(t) { digits -> Int64?? in
            var i = 0
            let negative = digits.first == UInt8(ascii: "-")
            if negative { i = 1 }
            var magnitude: UInt64 = 0
            while i < digits.count {
                let c = digits[i]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return .some(nil) }  // '.', 'e', 'E'
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
                guard !o1, !o2 else { return nil }
                magnitude = sum
                i += 1
            }
            if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }
        guard let fits = parsed else {
            let text = tape.numberText(t)
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                throw JSONError("\(name(key)): \(text) is not an integer")
            }
            throw JSONError("\(name(key)): \(text) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        guard let v = fits else { throw JSONError("\(name(key)): \(tape.numberText(t)) is not an integer") }
        guard range.contains(v) else {
            throw JSONError("\(name(key)): \(tape.numberText(t)) is out of range \(range.lowerBound)...\(range.upperBound)")
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
        let t = try token(key)
        guard tape.kind(t) == .string else { throw typeError(key, "a \"0x…\" hex string") }
        let parsed: UInt64?? = tape.withStringBytes(t) { text -> UInt64?? in
            guard text.count > 2, text[0] == UInt8(ascii: "0"), text[1] == UInt8(ascii: "x") else { return nil }
            guard text.count <= 18 else { return .some(nil) }
            var value: UInt64 = 0
            for c in text[2...] {
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt64(digit)
            }
            return value
        }
        switch parsed {
        case .some(.some(let value)): return value
        case .some(.none): throw JSONError("\(name(key)): \(tape.string(t).prefix(40)) does not fit in 64 bits")
        case .none:
            let text = tape.string(t)
            if text.utf8.count > 2, text.utf8.starts(with: "0x".utf8) {
                throw JSONError("\(name(key)): \"\(text)\" is not a \"0x…\" hex string")
            }
            throw JSONError("\(name(key)): \"\(text.prefix(40))\" is not a \"0x…\" hex string")
        }
    }

    /// The elements of an array, each read by `element` with its index.
    public mutating func array<T>(_ key: String, _ element: (JSONValue, String) throws(JSONError) -> T) throws(JSONError) -> [T] {
        let tape = tape, place = place
        return try elements(key) { (item, index) throws(JSONError) in
            try element(tape.value(at: item), place.appending(key, index).description)
        }
    }

    /// The elements of an array of objects, each read by `element` from its fields
    /// (named "key[index]" in messages).
    public mutating func objects<T>(_ key: String, _ element: (inout JSONFields) throws(JSONError) -> T) throws(JSONError) -> [T] {
        let tape = tape, place = place
        return try elements(key) { (item, index) throws(JSONError) in
            var fields = try JSONFields(tape, token: item, place: place.appending(key, index))
            return try element(&fields)
        }
    }

    /// Each element token of array `key` with its index, read by `read`.
    private mutating func elements<T>(_ key: String, _ read: (Int, Int) throws(JSONError) -> T) throws(JSONError) -> [T] {
        let t = try token(key)
        guard tape.kind(t) == .array else { throw typeError(key, "an array") }
        var result: [T] = []
        result.reserveCapacity(tape.count(t))
        var item = tape.firstElement(t)
        for index in 0..<tape.count(t) {
            result.append(try read(item, index))
            item = tape.nextElement(after: item)
        }
        return result
    }

    /// The nested object under `key`.
    public mutating func object(_ key: String) throws(JSONError) -> JSONFields {
        try JSONFields(tape, token: try token(key), place: place.appending(key))
    }

    /// Refuses keys that were never read: a misspelt or foreign field is an error,
    /// not silently dropped data.
    public func finish() throws(JSONError) {
        var key = tape.firstMember(object)
        for ordinal in 0..<count {
            if !isUsed(ordinal) { throw JSONError("unknown key \"\(name(tape.string(key)))\"") }
            key = tape.nextMember(after: key)
        }
    }

    private func typeError(_ key: String, _ expected: String) -> JSONError {
        let found = (index?[key] ?? find(key)).map { tape.kind($0.key + 1).typeName } ?? "nothing"
        return JSONError("\(name(key)): expected \(expected), found \(found)")
    }
}

extension JSONFields {
    /// Where an object sits in its line, spelt out only when a message needs it:
    /// its last two steps (a member's key, and an element's index) are kept as
    /// they are, since canonical lines nest objects no deeper than that below
    /// the top (`slot_ops[3].measured`); a deeper step folds them into the text.
    /// Keys are the decoder's literals, so reading a line builds no names.
    struct Place {
        struct Step {
            let key: String
            let index: Int?
        }

        let text: String
        var first: Step?
        var second: Step?

        init(text: String) { self.text = text }

        func appending(_ key: String, _ index: Int? = nil) -> Place {
            var place = self
            if first == nil {
                place.first = Step(key: key, index: index)
            } else if second == nil {
                place.second = Step(key: key, index: index)
            } else {
                place = Place(text: description)
                place.first = Step(key: key, index: index)
            }
            return place
        }

        var description: String {
            var text = text
            for step in [first, second].compactMap({ $0 }) {
                text += text.isEmpty ? step.key : "." + step.key
                if let index = step.index { text += "[\(index)]" }
            }
            return text
        }
    }
}
