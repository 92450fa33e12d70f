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
}
