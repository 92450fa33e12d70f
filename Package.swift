// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "memjournal",
    products: [
        .executable(name: "memjournal", targets: ["memjournal"]),
        .library(name: "MemoryModel", targets: ["MemoryModel"]),
        .library(name: "Memslots", targets: ["Memslots"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
        .library(name: "Journal", targets: ["Journal"]),
        .library(name: "KVMBackend", targets: ["KVMBackend"]),
        .library(name: "Replay", targets: ["Replay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        .target(name: "MemoryModel"),
        .target(
            name: "Memslots",
            dependencies: ["MemoryModel", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "CKVM"),
        .target(
            name: "KVMBackend",
            dependencies: ["CKVM", "Memslots", "MemoryModel", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(name: "Scenarios", dependencies: ["MemoryModel", "Memslots", "KVMBackend"]),
        // libsqlite3 (Debian: libsqlite3-dev) with a C shim for the variadic calls.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // Generates Swift from migrations/*.sql at build time (see Plugins/EmbedMigrations).
        .executableTarget(name: "EmbedMigrationsTool"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["EmbedMigrationsTool"]),
        .target(
            name: "Journal",
            dependencies: ["MemoryModel", "Memslots", "CSQLite"],
            plugins: ["EmbedMigrations"]
        ),
        .target(
            name: "Replay",
            dependencies: ["MemoryModel", "Memslots", "KVMBackend", "Journal", .product(name: "SystemPackage", package: "swift-system")]
        ),
        .executableTarget(
            name: "memjournal",
            dependencies: [
                "MemoryModel", "Memslots", "Scenarios", "KVMBackend", "Journal", "Replay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "MemoryModelTests", dependencies: ["MemoryModel"]),
        .testTarget(name: "MemslotsTests", dependencies: ["Memslots", "MemoryModel"]),
        .testTarget(
            name: "KVMBackendTests",
            dependencies: ["KVMBackend", "Memslots", "MemoryModel", "Scenarios",
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        .testTarget(name: "ScenariosTests", dependencies: ["Scenarios", "Memslots", "MemoryModel"]),
        .testTarget(
            name: "ReplayTests", dependencies: ["Replay", "Journal", "Scenarios", "KVMBackend", "Memslots", "MemoryModel"]
        ),
        .testTarget(
            name: "JournalTests",
            dependencies: ["Journal", "Scenarios", "Memslots", "MemoryModel", "CSQLite"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
