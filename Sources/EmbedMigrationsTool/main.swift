// Build-time generator used by the EmbedMigrations plugin:
//   EmbedMigrationsTool OUTPUT.swift migrations/0001_x.sql [migrations/0002_y.sql …]
// writes `enum EmbeddedMigrations { static let files: [(name:, sql:)] }` with
// each file's text as a raw string literal, verbatim.
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = Array("EmbedMigrationsTool: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func readFile(_ path: String) -> String {
    guard let file = fopen(path, "rb") else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count { break }
    }
    guard ferror(file) == 0 else { fail("cannot read \(path)") }
    return String(decoding: bytes, as: UTF8.self)
}

/// A raw-string delimiter (`#` count) that occurs nowhere in `text`.
func delimiter(for text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) || text.contains("\\" + hashes) { hashes += "#" }
    return hashes
}

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else { fail("usage: EmbedMigrationsTool OUTPUT.swift FILE.sql…") }
var swift = """
    // Generated at build time by EmbedMigrationsTool from the package's migrations/*.sql.
    // Do not edit: the .sql files are the only source of the schema.

    enum EmbeddedMigrations {
        /// (file name, SQL text), in file-name order.
        static let files: [(name: String, sql: String)] = [

    """
for path in arguments.dropFirst() {
    let name = String(path.split(separator: "/").last ?? Substring(path))
    let text = readFile(path)
    let d = delimiter(for: text)
    swift += "        (\(String(reflecting: name)), \(d)\"\"\"\n\(text)\n\"\"\"\(d)),\n"
}
swift += "    ]\n}\n"
guard let out = fopen(output, "wb") else { fail("cannot create \(output): \(String(cString: strerror(errno)))") }
let bytes = Array(swift.utf8)
guard fwrite(bytes, 1, bytes.count, out) == bytes.count, fclose(out) == 0 else { fail("cannot write \(output)") }
