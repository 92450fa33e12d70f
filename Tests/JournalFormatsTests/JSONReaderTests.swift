import JSON
import Testing

/// The one JSON reader: strings with and without escapes, duplicate and unknown
/// keys in small objects (found by a scan) and big ones (found by hashing).
struct JSONReaderTests {
    static func object(_ count: Int, extra: String = "") -> String {
        "{" + (0..<count).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + extra + "}"
    }

    @Test func stringsReadTheSameWithAndWithoutEscapes() throws {
        #expect(try JSONParser.parse(Array(#""plain ascii""#.utf8)) == .string("plain ascii"))
        #expect(try JSONParser.parse(Array(#""caf\u00e9 \"q\" \\ \n""#.utf8)) == .string("café \"q\" \\ \n"))
        #expect(try JSONParser.parse(Array("\"café\"".utf8)) == .string("café"))
        #expect(throws: JSONError.self) { try JSONParser.parse(Array("\"cut".utf8)) }
    }

    @Test(arguments: [3, 23, 24, 25, 60])
    func aDuplicateKeyIsRefusedInObjectsOfEverySize(_ count: Int) throws {
        #expect(throws: JSONError.self) { try JSONParser.parse(Array(Self.object(count, extra: ",\"k1\":9").utf8)) }
        #expect(throws: JSONError.self) {
            try JSONParser.parse(Array(Self.object(count, extra: ",\"k\(count - 1)\":9").utf8))
        }
        let value = try JSONParser.parse(Array(Self.object(count).utf8))
        var fields = try JSONFields(value, context: "")
        for index in 0..<count { #expect(try fields.integer("k\(index)", in: 0...1000) == Int64(index)) }
        #expect(!fields.has("k\(count)"))
        try fields.finish()
    }

    @Test(arguments: [3, 40])
    func aKeyNeverReadAndAMissingKeyAreNamed(_ count: Int) throws {
        var fields = try JSONFields(try JSONParser.parse(Array(Self.object(count).utf8)), context: "t")
        for index in 0..<(count - 1) { _ = try fields.value("k\(index)") }
        #expect { try fields.finish() } throws: { "\($0)".contains("k\(count - 1)") }
        #expect { try fields.value("nope") } throws: { "\($0)".contains("t.nope") }
    }

    @Test(arguments: [
        ("0x0", "0"), ("0xAbC", "2748"), ("0xffffffffffffffff", "18446744073709551615"),
        ("0x0000000000000001", "1"), ("0x", "is not a"), ("1x5", "is not a"), ("0xg", "is not a"),
        ("0x1\u{e9}", "is not a"), ("0x-1", "is not a"), ("0x00000000000000001", "does not fit"),
        ("0x1ffffffffffffffff", "does not fit"),
    ])
    func hexValuesReadExactlyAndBadOnesAreNamed(_ text: String, _ expected: String) throws {
        var fields = try JSONFields(.object([("h", .string(text))]), context: "t")
        if let value = UInt64(expected) {
            #expect(try fields.hex64("h") == value)
        } else {
            #expect { try fields.hex64("h") } throws: { "\($0)".contains("t.h: ") && "\($0)".contains(expected) }
        }
    }

    @Test func aLineThatIsNotUTF8IsRefusedAndOneThatIsIsRead() throws {
        #expect { try JSONParser.parse([0x22, 0x63, 0xc3, 0x22]) } throws: { "\($0)".contains("not valid UTF-8") }
        #expect { try JSONParser.parse([0x22, 0xff, 0x22]) } throws: { "\($0)".contains("not valid UTF-8") }
        #expect(try JSONParser.parse(Array("[\"ünï\", 1]".utf8)) == .array([.string("ünï"), .number("1")]))
    }

    /// A key written with escapes is the same key as written plainly (the tape
    /// compares plain keys by their bytes and escaped ones decoded).
    @Test(arguments: [3, 30])
    func aDuplicateKeyIsFoundWhateverItsEscapes(_ count: Int) throws {
        #expect { try JSONParser.parse(Array(Self.object(count, extra: #","\u006b1":9"#).utf8)) } throws: {
            ($0 as? JSONError)?.detail.contains("duplicate key \"k1\"") == true
        }
        var fields = try JSONFields(JSONParser.tape(Array(#"{"\u006b0":5,"k1":[1,{"a":null}]}"#.utf8)), context: "")
        #expect(try fields.integer("k0", in: 0...9) == 5)
        #expect(try fields.value("k1") == .array([.number("1"), .object([(key: "a", value: .null)])]))
        try fields.finish()
    }

    /// Objects read from the tape where they sit: each element's fields, nulls
    /// seen without building anything, and every value the tree would give.
    @Test func objectsOfAnArrayAreReadInPlaceAndNamedByIndex() throws {
        let line = #"{"list":[{"n":1,"b":null},{"n":2,"b":{"x":"0x10"}},{"n":"three","b":null}],"t":true}"#
        var fields = try JSONFields(JSONParser.tape(Array(line.utf8)), context: "")
        #expect(throws: JSONError.self) {
            _ = try fields.objects("list") { (o: inout JSONFields) throws(JSONError) in try o.integer("n", in: 0...9) }
        }
        var again = try JSONFields(JSONParser.tape(Array(line.utf8)), context: "")
        do {
            _ = try again.objects("list") { (o: inout JSONFields) throws(JSONError) in try o.integer("n", in: 0...9) }
        } catch {
            #expect(error.detail == "list[2].n: expected an integer, found a string")
        }
        var whole = try JSONFields(JSONParser.tape(Array(line.utf8)), context: "")
        #expect(try whole.bool("t"))
        let hexes = try whole.objects("list") { (o: inout JSONFields) throws(JSONError) -> UInt64? in
            _ = try o.value("n")
            return try o.nullable("b") { (b: inout JSONFields, k: String) throws(JSONError) in
                var inner = try b.object(k)
                defer { try? inner.finish() }
                return try inner.hex64("x")
            }
        }
        #expect(hexes == [nil, 16, nil])
        try whole.finish()
        #expect(try JSONParser.parse(Array(line.utf8)).text == line)
    }

    /// A quote, a backslash, a control character or a non-ASCII byte is seen
    /// where it is, after a run of plain bytes of any length.
    @Test(arguments: 0..<26)
    func aSpecialByteIsSeenAtEveryOffset(offset: Int) throws {
        let before = String(repeating: "a", count: offset), after = String(repeating: "b", count: 11)
        // A quote ends the string there: what follows is text after the value.
        #expect(throws: JSONError.self) { try JSONParser.parse(Array("\"\(before)\"\(after)\"".utf8)) }
        #expect(try JSONParser.parse(Array("[\"\(before)\",\"\(after)\"]".utf8)) == .array([.string(before), .string(after)]))
        // An escape, and a non-ASCII character, decoded in place.
        #expect(try JSONParser.parse(Array("\"\(before)\\n\(after)\"".utf8)) == .string(before + "\n" + after))
        #expect(try JSONParser.parse(Array("\"\(before)é\(after)\"".utf8)) == .string(before + "é" + after))
        // A control character is refused, at its column.
        #expect {
            try JSONParser.parse(Array("\"\(before)\u{01}\(after)\"".utf8))
        } throws: { error in
            (error as? JSONError)?.detail.contains("column \(offset + 2): control character") == true
        }
        // A string cut short is named as such, wherever it ends.
        #expect {
            try JSONParser.parse(Array("\"\(before)".utf8))
        } throws: { error in
            (error as? JSONError)?.detail.contains("unterminated string") == true
        }
    }
}
