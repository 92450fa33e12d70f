import JSON
import Testing

/// The one JSON writer: an object written in pieces (its one array streamed) is
/// the text of the whole object.
struct JSONWriterTests {
    @Test(arguments: [0, 1, 3])
    func anObjectWrittenInPiecesIsTheWholeObjectsText(_ count: Int) {
        let before: [(String, JSONValue)] = count == 1 ? [] : [("a", .int(1)), ("q\"uote", .string("x\ny"))]
        let after: [(String, JSONValue)] = count == 3 ? [] : [("z", .orderedObject([("n", .null)]))]
        let elements = (0..<count).map { JSONValue.array([.int($0), .bool($0 % 2 == 0)]) }
        let pieces = JSONValue.objectOpening(before, array: "items")
            + elements.enumerated().map { JSONValue.element($1, index: $0) }.joined()
            + JSONValue.objectClosing(after: after)
        #expect(pieces == JSONValue.orderedObject(before + [("items", .array(elements))] + after).text)
    }

    /// Every control character, the quote and the backslash are escaped (tab,
    /// newline and carriage return by their short forms, the other controls as
    /// `\u00XX`); everything else, multi-byte characters included, is written as
    /// its own UTF-8 bytes; and the parser reads each back as the string written
    /// (all but NUL, which it refuses inside a string).
    @Test func stringsAreEscapedExactlyAndReadBackAsWritten() throws {
        let controls = String(String.UnicodeScalarView((1..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let strings = ["", "plain", "q\"uote", "back\\slash", controls, "é, ∀ and 🐢", "\u{7f}del", "mixed é\n\"\u{1}"]
        for string in strings {
            let written = JSONValue.string(string).utf8Text
            #expect(try JSONParser.parse(written) == .string(string), "\(string.debugDescription)")
            #expect(JSONValue.quote(string) == JSONValue.string(string).text)
        }
        // Byte for byte (String's == would take canonically equivalent text as equal).
        func bytes(_ s: String) -> [UInt8] { JSONValue.string(s).utf8Text }
        #expect(bytes("\u{0}\u{1}") == Array(#""\u0000\u0001""#.utf8))
        #expect(bytes("\u{8}\t\n\u{b}\u{c}\r\u{1f}") == Array(#""\u0008\t\n\u000b\u000c\r\u001f""#.utf8))
        #expect(bytes("e\u{301}🐢\u{7f}") == [0x22] + Array("e\u{301}🐢\u{7f}".utf8) + [0x22])
        #expect(bytes("a\"b\\c") == Array(#""a\"b\\c""#.utf8))
    }
}
