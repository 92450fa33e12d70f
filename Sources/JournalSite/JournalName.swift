import Glibc

/// The one way a name in a URL becomes a file: a journal directly in the
/// service's directory. Anything else — a separator, `..`, a NUL, a hidden
/// file, a symbolic link, another suffix — is not a journal of this site,
/// so no request can make it read a file outside its directory.
struct JournalName {
    let name: String
    let path: String

    enum Refusal: Error {
        /// Not a journal name at all (400).
        case malformed(String)
        /// A well-formed name with no such journal (404).
        case unknown(String)
    }

    init(_ raw: Substring, in directory: String) throws(Refusal) {
        guard let decoded = Self.percentDecoded(raw) else { throw .malformed("the name is not valid percent-encoded UTF-8") }
        guard decoded.utf8.count <= 255, decoded.hasSuffix(".journal"), !decoded.hasPrefix("."),
              decoded.utf8.allSatisfy({ Self.allowed.contains($0) })
        else {
            throw .malformed("'\(decoded.prefix(80))' is not a journal name (letters, digits, '.', '_' and '-', ending in .journal)")
        }
        let path = directory + "/" + decoded
        var info = stat()
        // lstat: a symbolic link is not followed out of the directory.
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .unknown("no journal named \(decoded) here: GET /api/journals lists them")
        }
        name = decoded
        self.path = path
    }

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8)

    /// `%XX` escapes decoded; nil for a broken escape, a NUL or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
