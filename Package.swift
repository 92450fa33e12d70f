// swift-tools-version: 6.1
import PackageDescription

// One module per layer, each depending only on the layers above it (README: Architecture).
let system = Target.Dependency.product(name: "SystemPackage", package: "swift-system")

let package = Package(
    name: "memjournal",
    products: [
        .executable(name: "memjournal", targets: ["memjournal"]),
        .library(name: "Sync", targets: ["Sync"]),
        .library(name: "MemoryModel", targets: ["MemoryModel"]),
        .library(name: "Memslots", targets: ["Memslots"]),
        .library(name: "KVMBackend", targets: ["KVMBackend"]),
        // For the C baseline of Benchmarks/ (the same ioctl and kick glue).
        .library(name: "CKVM", targets: ["CKVM"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
        .library(name: "Harness", targets: ["Harness"]),
        .library(name: "JSON", targets: ["JSON"]),
        .library(name: "JournalStore", targets: ["JournalStore"]),
        .library(name: "JournalFormats", targets: ["JournalFormats"]),
        .library(name: "Analysis", targets: ["Analysis"]),
        .library(name: "Replay", targets: ["Replay"]),
        .library(name: "Reduction", targets: ["Reduction"]),
        .library(name: "Report", targets: ["Report"]),
        .library(name: "Capture", targets: ["Capture"]),
        // The ioctl interposer a VMM loads with LD_PRELOAD (`capture`, `serve --socket`).
        .library(name: "memjournal-interposer", type: .dynamic, targets: ["CInterposer"]),
    ],
    traits: [
        // serve --http (Hummingbird). Off only where a build must stay small: the
        // thread-sanitizer run of .ci/run (--disable-default-traits).
        .trait(name: "HTTP", description: "The web view of serve --http (Hummingbird)."),
        .default(enabledTraits: ["HTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Locks, threads, the monotonic clock, file descriptors and temporary paths.
        .target(name: "Sync", dependencies: [system]),
        // Guest-physical ranges, regions, flat views, transactions, listeners.
        .target(name: "MemoryModel"),
        // Transaction records, the batching listener, the blocker, the backend
        // protocol and its simulated twin, the history reducer.
        .target(name: "Memslots", dependencies: ["Sync", "MemoryModel", system]),
        // C glue for the variadic ioctl, kvm_run accessors and the kick signal.
        .target(name: "CKVM"),
        .target(name: "KVMBackend", dependencies: ["CKVM", "Sync", "Memslots", "MemoryModel", system]),
        // The record layout the interposer sends and the recorder reads (one C header).
        .target(name: "CCaptureRecord"),
        // The LD_PRELOAD interposer itself: C code only (SwiftPM's link still names
        // libswiftCore, which the VMM then loads but the interposer never calls).
        .target(name: "CInterposer", dependencies: ["CCaptureRecord"], publicHeadersPath: ".",
                linkerSettings: [.linkedLibrary("dl")]),
        // Built-in workloads.
        .target(name: "Scenarios", dependencies: ["MemoryModel", "Memslots"]),
        // Wires a backend and its vCPUs for record, replay, demo, fixtures, benchmarks.
        .target(name: "Harness", dependencies: ["Sync", "MemoryModel", "Memslots", "KVMBackend", "Scenarios"]),
        // The one JSON reader (strict) and writer.
        .target(name: "JSON"),
        // libsqlite3 (Debian: libsqlite3-dev) with a C shim for the variadic calls.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // Generates Swift from migrations/*.sql at build time (see Plugins/EmbedMigrations).
        .executableTarget(name: "EmbedMigrationsTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["EmbedMigrationsTool"]),
        // The SQLite journal: store, migrations, recorder, reader.
        .target(
            name: "JournalStore",
            dependencies: ["CSQLite", "Sync", "JSON", "MemoryModel", "Memslots", system,
                           .product(name: "Crypto", package: "swift-crypto")],
            plugins: ["EmbedMigrations"]
        ),
        // Text forms of a history: canonical JSONL, QEMU traces.
        .target(name: "JournalFormats", dependencies: ["JSON", "JournalStore", "MemoryModel", "Memslots"]),
        // What a history means: hazards, memory maps.
        .target(name: "Analysis", dependencies: ["Sync", "JournalStore", "MemoryModel", "Memslots", system]),
        .target(
            name: "Replay",
            dependencies: ["Sync", "MemoryModel", "Memslots", "KVMBackend", "Harness", "JournalStore", "JournalFormats",
                           system]
        ),
        // From a failing history to a minimal one (reduce) and semantic comparison (diff).
        .target(
            name: "Reduction",
            dependencies: ["Sync", "MemoryModel", "Memslots", "Harness", "JournalStore", "JournalFormats", "Analysis",
                           "Replay"]
        ),
        // Recording a real VMM live: the record stream, the service, the exit classifier.
        .target(name: "Capture", dependencies: ["CCaptureRecord", "Sync", "MemoryModel", "Memslots", "JournalStore",
                                                "JournalFormats", system]),
        // The self-contained HTML report, and the JSON forms of a journal's views.
        .target(name: "Report", dependencies: ["JSON", "MemoryModel", "Memslots", "JournalStore", "JournalFormats", "Analysis",
                                               .product(name: "Histogram", package: "hdrhistogram-swift")]),
        // The web view of a directory of journals as plain requests and answers (serve --http carries them).
        .target(name: "JournalSite", dependencies: ["JSON", "Sync", "JournalStore", "Analysis", "Report"]),
        .executableTarget(
            name: "memjournal",
            dependencies: [
                "Sync", "MemoryModel", "Memslots", "Scenarios", "KVMBackend", "Harness", "JSON", "JournalStore",
                "JournalFormats", "Analysis", "Replay", "Reduction", "Report", "Capture", "JournalSite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HTTP"])),
            ]
        ),
        // Shared by the test targets: temporary directories, the KVM-host check.
        .target(
            name: "TestSupport",
            dependencies: ["KVMBackend", "Sync", "JSON", "JournalStore", "Harness", "Scenarios", "Memslots", "MemoryModel", system],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "TestSupport", system]),
        .testTarget(name: "MemoryModelTests", dependencies: ["MemoryModel"]),
        .testTarget(name: "MemslotsTests", dependencies: ["Memslots", "MemoryModel", "Sync"]),
        .testTarget(
            name: "KVMBackendTests",
            dependencies: ["KVMBackend", "Memslots", "MemoryModel", "Scenarios", "Harness", "Sync", "TestSupport", system]
        ),
        .testTarget(name: "ScenariosTests", dependencies: ["Scenarios", "Harness", "Memslots", "MemoryModel", "Sync"]),
        .testTarget(
            name: "JournalStoreTests",
            dependencies: ["JournalStore", "JournalFormats", "Analysis", "Scenarios", "Harness", "Memslots", "MemoryModel", "CSQLite",
                           "Sync", "TestSupport"]
        ),
        .testTarget(
            name: "JournalFormatsTests",
            dependencies: ["JournalFormats", "JournalStore", "JSON", "Analysis", "Scenarios", "Harness", "Memslots",
                           "MemoryModel", "TestSupport"]
        ),
        .testTarget(
            name: "ReplayTests",
            dependencies: ["Replay", "JournalStore", "JournalFormats", "Analysis", "Scenarios", "Harness", "KVMBackend",
                           "Memslots", "MemoryModel", "Sync", "TestSupport"]
        ),
        .testTarget(
            name: "AnalysisTests",
            dependencies: ["Analysis", "JournalFormats", "JournalStore", "Scenarios", "Harness", "Memslots", "MemoryModel",
                           "TestSupport"]
        ),
        .testTarget(
            name: "ReportTests",
            dependencies: ["Report", "Analysis", "JournalFormats", "JournalStore", "Scenarios", "Harness", "Memslots", "Sync",
                           "TestSupport"]
        ),
        .testTarget(
            name: "ReductionTests",
            dependencies: ["Reduction", "Replay", "JournalStore", "JournalFormats", "Analysis", "Scenarios", "Harness",
                           "Memslots", "Sync", "TestSupport"]
        ),
        .testTarget(
            name: "CaptureTests",
            dependencies: ["Capture", "CCaptureRecord", "JournalStore", "JournalFormats", "Analysis", "Memslots",
                           "MemoryModel", "Sync", "TestSupport"]
        ),
        .testTarget(
            name: "JournalSiteTests",
            dependencies: ["JournalSite", "Capture", "CCaptureRecord", "JournalStore", "JSON", "Scenarios", "Harness", "Memslots",
                           "Sync", "TestSupport"]
        ),
        .testTarget(name: "memjournalTests", dependencies: ["memjournal", "JSON", "Sync", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
