// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for memjournal; build and run them with Fuzz/run.sh.
//
// Every module, the parent package's included, must be compiled with
// `-sanitize=fuzzer,address` (coverage feedback comes from the code under test),
// so run.sh passes it with -Xswiftc for the whole build instead of unsafeFlags
// here, which would reach only this package's own targets.
//
// Entry point: SwiftPM links each executable with `--defsym main=<Target>_main`,
// which replaces libFuzzer's own `main` (and fails to link when the module has
// no entry point, e.g. under -parse-as-library). So each target keeps top-level
// code that hands control to libFuzzer through LLVMFuzzerRunDriver (declared
// by CLibFuzzer), and still exports LLVMFuzzerTestOneInput, which libFuzzer's
// (unused but linked) main refers to.
let formats = Target.Dependency.product(name: "JournalFormats", package: "memjournal")
let store = Target.Dependency.product(name: "JournalStore", package: "memjournal")
let sync = Target.Dependency.product(name: "Sync", package: "memjournal")

let package = Package(
    name: "memjournal-fuzz",
    dependencies: [
        .package(name: "memjournal", path: ".."),
    ],
    targets: [
        .systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
        // Starting libFuzzer; scratch files in private temporary directories.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", sync]),
        // Canonical JSONL reader (CanonicalJSONL.read), plus a round-trip check.
        .executableTarget(name: "FuzzJSONL", dependencies: ["FuzzSupport", formats, store, sync]),
        // QEMU kvm_set_user_memory lines (QEMUTraceLine.parse) and the importer.
        .executableTarget(name: "FuzzQEMUTrace", dependencies: ["FuzzSupport", formats, sync]),
        // SQLite journals through JournalReader(path:migration: .onPrivateCopy).
        .executableTarget(name: "FuzzJournal", dependencies: ["FuzzSupport", store, sync]),
    ],
    swiftLanguageModes: [.v6]
)
