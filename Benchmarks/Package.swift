// swift-tools-version: 6.1
import PackageDescription

// The performance figures of BENCHMARKS.md, measured side by side with their
// reference points. Its own package so the main build and `swift test` stay lean:
//   swift package --package-path Benchmarks --allow-writing-to-package-directory benchmark
let package = Package(
    name: "memjournal-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "memjournal", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The bare-minimum inhibit in C, measured next to memjournal's (BENCHMARKS.md §1).
        .target(
            name: "CInhibitBaseline",
            dependencies: [.product(name: "CKVM", package: "memjournal")],
            path: "Benchmarks/CInhibitBaseline"
        ),
        // The same ioctls straight into libc or through the interposer (BENCHMARKS.md §12).
        .target(
            name: "CInterposerCost",
            dependencies: [.product(name: "CKVM", package: "memjournal")],
            path: "Benchmarks/CInterposerCost",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .executableTarget(
            name: "MemjournalBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MemoryModel", package: "memjournal"),
                .product(name: "Memslots", package: "memjournal"),
                .product(name: "KVMBackend", package: "memjournal"),
                .product(name: "Scenarios", package: "memjournal"),
                .product(name: "Sync", package: "memjournal"),
                .product(name: "Harness", package: "memjournal"),
                .product(name: "JournalStore", package: "memjournal"),
                .product(name: "Replay", package: "memjournal"),
                .product(name: "Reduction", package: "memjournal"),
                .product(name: "Analysis", package: "memjournal"),
                .product(name: "Capture", package: "memjournal"),
                "CInhibitBaseline",
                "CInterposerCost",
            ],
            path: "Benchmarks/MemjournalBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
