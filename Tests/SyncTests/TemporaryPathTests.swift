import Sync
import SystemPackage
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
