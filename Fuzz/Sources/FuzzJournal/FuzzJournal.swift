import FuzzSupport
import JournalStore

// Journals (SQLite files) from bug reports: the bytes are written to a new file
// in a private temporary directory and read completely with JournalReader, an
// older schema migrated on a private copy. Errors are expected, crashes are
// findings.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withScratchDirectory { directory in
        let path = directory.file("input.journal")
        writeNewFile(inputBytes(data, size), to: path)
        guard let reader = try? JournalReader(path: path, migration: .onPrivateCopy) else { return }
        _ = try? reader.contents()
        _ = try? reader.summary()
        _ = try? JournalVerifier.verify(reader)
    }
    return 0
}

runLibFuzzer(fuzz)
