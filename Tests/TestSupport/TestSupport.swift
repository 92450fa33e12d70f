import Foundation
import KVMBackend
import Testing
import Sync

/// Whether `/dev/kvm` can be opened here; tests that need it skip with `kvmSkipReason`.
public let kvmAvailable: Bool = (try? KVMBackend.availability().get()) != nil

/// Why KVM tests are skipped on this machine (nil when they run).
public let kvmSkipReason: String? = {
    switch KVMBackend.availability() {
    case .success: nil
    case .failure(let e): "/dev/kvm cannot be opened here (\(e)); KVM tests skipped"
    }
}()

/// The one condition every KVM test runs under: enabled where `/dev/kvm` opens,
/// else skipped with the reason.
public let requiresKVM = ConditionTrait.enabled(
    if: kvmAvailable, Comment(rawValue: kvmSkipReason ?? "/dev/kvm cannot be opened here"))

/// A private directory for files a test hands out by path and does not clean up
/// itself (made once per test process by mkdtemp).
public let sharedScratch: TemporaryDirectory = makeTemporaryDirectory()

/// A fresh, unique path in `sharedScratch`.
public func scratchPath(_ name: String) -> String {
    sharedScratch.file("\(UInt64.random(in: 0..<UInt64.max))-\(name)")
}

/// A fresh temporary directory for one test, removed when released.
public func makeTemporaryDirectory() -> TemporaryDirectory {
    do { return try TemporaryDirectory(prefix: "memjournal-tests") } catch {
        fatalError("cannot create a temporary directory under \(TemporaryDirectory.base): \(error)")
    }
}

/// The memjournal executable `swift build` made beside the test bundle, for
/// tests that run the real command line.
public let memjournalExecutable: String = {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
    while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("memjournal").path) {
        url.deleteLastPathComponent()
    }
    return url.appendingPathComponent("memjournal").path
}()
