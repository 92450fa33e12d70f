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
}
