import JournalStore
import Sync
import SystemPackage

/// One side's alignment keys for a diff, one integer per transaction, appended
/// in order and then read by index. Up to `memoryLimit` keys stay in memory;
/// past it they go to a scratch file (unlinked as soon as it is open, so nothing
/// is left behind) read back through a small direct-mapped cache of blocks —
/// two 10-million-transaction histories cost a few megabytes, not 160.
///
/// A collection's subscript cannot throw: a failed read of the scratch file
/// yields 0 and is kept in `failure`, which the diff checks before using the
/// alignment.
final class AlignmentKeys: RandomAccessCollection {
    /// Keys held in memory before the rest go to the file (1 MiB per side by default).
    let memoryLimit: Int
    /// Keys per block of the file, and blocks in the cache (1 MiB per side by default).
    let blockKeys: Int
    let cachedBlocks: Int
    /// All keys while nothing is spilled; after, the ones not yet written.
    private var pending: [Int] = []
    private var file: (descriptor: FileDescriptor, path: String)?
    private(set) var endIndex = 0
    /// `cache[slot * blockKeys ..< (slot + 1) * blockKeys]` holds block `tags[slot]` (-1: none).
    private var cache: [Int] = []
    private var tags: [Int] = []
    /// The first failed write or read of the scratch file.
    private(set) var failure: JournalError?

    init(memoryLimit: Int = 1 << 17, blockKeys: Int = 512, cachedBlocks: Int = 256) {
        precondition(memoryLimit > 0 && blockKeys > 0 && cachedBlocks > 0, "an empty cache")
        self.memoryLimit = memoryLimit
        self.blockKeys = blockKeys
        self.cachedBlocks = cachedBlocks
    }

    deinit { if let file { try? file.descriptor.close() } }

    var startIndex: Int { 0 }

    /// Whether the keys went to a scratch file.
    var spilled: Bool { file != nil }

    func append(_ key: Int) {
        endIndex += 1
        guard failure == nil else { return }
        pending.append(key)
        if file == nil && pending.count > memoryLimit { spill() }
        if file != nil && pending.count >= 64 * blockKeys { writePending() }
    }

    /// Writes what is pending; reading may start after it.
    func finish() { if file != nil { writePending() } }

    subscript(index: Int) -> Int {
        precondition(index >= 0 && index < endIndex, "alignment key \(index) of \(endIndex)")
        guard failure == nil else { return 0 }
        guard let file else { return pending[index] }
        let block = index / blockKeys, slot = block % cachedBlocks
        if tags[slot] != block {
            tags[slot] = -1
            let base = slot * blockKeys
            let keys = Swift.min(blockKeys, endIndex - block * blockKeys)
            do {
                let read = try cache.withUnsafeMutableBytes { bytes in
                    try file.descriptor.read(fromAbsoluteOffset: Int64(block * blockKeys * 8),
                                             into: UnsafeMutableRawBufferPointer(rebasing: bytes[base * 8 ..< (base + keys) * 8]))
                }
                guard read == keys * 8 else { throw Errno.ioError }
            } catch {
                fail(file.path, "reading it back: \(error)")
                return 0
            }
            tags[slot] = block
        }
        return cache[slot * blockKeys + index % blockKeys]
    }

    private func spill() {
        do {
            let directory = try TemporaryDirectory(prefix: "memjournal-diff")
            let path = directory.file("alignment-keys")
            let descriptor = try FileDescriptor.open(path, .readWrite, options: [.create, .exclusiveCreate, .closeOnExec],
                                                     permissions: [.ownerReadWrite])
            // The directory (and the name in it) goes when `directory` is released; the open file stays ours.
            file = (descriptor, path)
            cache = [Int](repeating: 0, count: cachedBlocks * blockKeys)
            tags = [Int](repeating: -1, count: cachedBlocks)
            writePending()
        } catch {
            fail(TemporaryDirectory.base, "making a scratch file for the alignment keys: \(error)")
            pending = []
        }
    }

    private func writePending() {
        guard let file, !pending.isEmpty else { return }
        let offset = Int64((endIndex - pending.count) * 8)
        do {
            _ = try pending.withUnsafeBytes { try file.descriptor.writeAll(toAbsoluteOffset: offset, $0) }
        } catch {
            fail(file.path, "writing: \(error)")
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func fail(_ path: String, _ reason: String) {
        if failure == nil {
            failure = .writeFailed(
                path: path,
                reason: "the diff's scratch file (one 8-byte key per transaction past 1 MiB): \(reason); "
                    + "set TMPDIR to a writable directory with room")
        }
    }
}
