import ArgumentParser
import JournalStore
#if canImport(Glibc)
import Glibc
#endif

/// Opens a journal for reading and runs `body` with it. A journal from an older
/// schema is migrated on a temporary copy (removed afterwards) unless `inPlace`,
/// so the file itself is never changed by reading it.
func withReadableJournal<R>(_ path: String, inPlace: Bool = false, _ body: (JournalReader) throws -> R) throws -> R {
    try withJournalErrors {
        let reader = try JournalReader(path: path, migration: inPlace ? .inPlace : .onPrivateCopy)
        reader.notes.forEach(printNote)
        return try body(reader)
    }
}

/// Prints what opening a journal found worth telling (a recovered `-wal`, a side
/// file left out, a recording in progress) on standard error.
func printNote(_ note: String) {
    var standardError = StandardError()
    print("memjournal: note: \(note)", to: &standardError)
}

/// Runs `body`, turning a `JournalError` into its message on stderr and its
/// documented exit code.
func withJournalErrors<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as JournalError {
        var standardError = StandardError()
        print("memjournal: \(error)", to: &standardError)
        throw ExitCode(error.exitCode)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
