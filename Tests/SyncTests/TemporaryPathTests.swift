import Sync
import SystemPackage
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct TemporaryPathTests {
    @Test func directoriesAreUniquePrivateAndRemovedWithTheirContents() throws {
        var paths: [String] = []
        do {
            let a = try TemporaryDirectory(prefix: "memjournal-sync")
            let b = try TemporaryDirectory(prefix: "memjournal-sync")
            #expect(a.path != b.path)
            var info = stat()
            #expect(stat(a.path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
            #expect(mkdir(a.file("nested"), 0o700) == 0)
            let fd = open(a.file("nested/file"), O_CREAT | O_WRONLY, 0o600)
            #expect(fd >= 0)
            close(fd)
            paths = [a.path, b.path]
        }
        var info = stat()
        for path in paths { #expect(stat(path, &info) != 0, "\(path) left behind") }
    }

    @Test func siblingsAreUniqueNewFilesBesideTheTarget() throws {
        let dir = try TemporaryDirectory(prefix: "memjournal-sync")
        let target = dir.file("out.journal")
        let one = try uniqueSibling(of: target)
        let two = try uniqueSibling(of: target)
        defer { try? one.fd.close(); try? two.fd.close() }
        #expect(one.path != two.path)
        #expect(one.path.hasPrefix(target + ".partial-"))
        var info = stat()
        #expect(stat(target, &info) != 0, "the target itself is never created")
    }
}

@Suite struct StalePartialTests {
    /// A pid no process can have: above the kernel's pid_max.
    static let deadPID: Int32 = {
        let text = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)) ?? "4194304"
        return (Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 4_194_304) + 1
    }()

    @Test func onlyTheTargetsPartialsOfDeadProcessesAreRemoved() throws {
        let dir = try TemporaryDirectory(prefix: "memjournal-sync")
        let target = dir.file("out.journal")
        let deadDir = "\(target).partial-\(Self.deadPID)-AbC123"
        let deadFile = "\(target).partial-\(Self.deadPID)-XyZ789"
        let live = "\(target).partial-\(getpid())-LiVe00"
        let otherTarget = dir.file("other.journal.partial-\(Self.deadPID)-q")
        #expect(mkdir(deadDir, 0o700) == 0)
        for path in [deadDir + "/journal", deadDir + "/journal-wal", deadFile, live, otherTarget, target] {
            let fd = open(path, O_CREAT | O_WRONLY, 0o600)
            #expect(fd >= 0, "\(path)")
            close(fd)
        }
        let removed = Set(removeStalePartials(of: target))
        #expect(removed == [deadDir, deadFile])
        var info = stat()
        for gone in [deadDir, deadFile] { #expect(lstat(gone, &info) != 0, "\(gone) left behind") }
        for kept in [live, otherTarget, target] { #expect(lstat(kept, &info) == 0, "\(kept) removed") }
    }
}
