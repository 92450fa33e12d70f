import FuzzSupport
import JournalFormats

// The QEMU trace importer on arbitrary bytes: QEMUTraceImporter.read splits the
// text into lines, feeds each to the line parser (QEMUTraceLine.parse) and
// groups the events into transactions, backings and overlap decisions. Lenient,
// so a malformed line is skipped instead of ending the input: the parser sees
// every line and the grouping still runs. (QEMUTraceImporter.build, the
// grouping alone, is internal; read(_:lenient:) takes a path, hence the file.)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withScratchDirectory { directory in
        let input = directory.file("trace.log")
        writeNewFile(inputBytes(data, size), to: input)
        _ = try? QEMUTraceImporter.read(input, lenient: true)
    }
    return 0
}

runLibFuzzer(fuzz)
