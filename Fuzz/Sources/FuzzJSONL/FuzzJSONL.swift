import FuzzSupport
import JournalFormats
import JournalStore

// The canonical JSONL reader, CanonicalJSONL.read(_:), on arbitrary bytes:
// errors are expected, crashes are findings. Its line decoder
// (CanonicalJSONL.Decoder) is internal, so the input goes through a file, as
// `memjournal import` reads it.
//
// Also checks the promise of the canonical form: whatever the reader accepts,
// its canonical text reads back to the same contents and the same text.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withScratchDirectory { directory in
        let input = directory.file("input.jsonl")
        writeNewFile(inputBytes(data, size), to: input)
        guard let contents = try? CanonicalJSONL.read(input) else { return }

        let text = CanonicalJSONL.encode(contents)
        let again = directory.file("again.jsonl")
        text.withUnsafeBytes { writeNewFile($0, to: again) }
        let reread: JournalContents
        do {
            reread = try CanonicalJSONL.read(again)
        } catch {
            fatalError("round trip: the canonical text of an accepted input is refused: \(error)")
        }
        if reread != contents { fatalError("round trip: the canonical text reads back to different contents") }
        if CanonicalJSONL.encode(reread) != text { fatalError("round trip: encoding is not stable") }
    }
    return 0
}

runLibFuzzer(fuzz)
