// swift-tools-version: 6.1
//
// Folio: an embeddable, file-backed page cache whose synchronization is
// delegated to pluggable lock strategies.
//
// Module arrows point one way: CFolioShims → FolioLocks → FolioCache → tools.
// Benchmarks live in their own package (Benchmarks/) so users of Folio never
// resolve benchmark dependencies.
import PackageDescription

let package = Package(
    name: "Folio",
    products: [
        .library(name: "FolioLocks", targets: ["FolioLocks"]),
        .library(name: "FolioCache", targets: ["FolioCache"]),
        .executable(name: "folio-demo", targets: ["folio-demo"]),
    ],
    targets: [
        // C: futex(2), atomics on raw futex words, the pause hint.
        .target(name: "CFolioShims"),
        // System liblz4 (apt: liblz4-dev).
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),

        // The parking lot and lock primitives. Knows nothing about files or pages.
        .target(name: "FolioLocks", dependencies: ["CFolioShims"]),
        // The cache engine: folios, mappings, lock strategies, compression.
        .target(name: "FolioCache", dependencies: ["FolioLocks", "CLZ4"]),

        // Small demo that drives every strategy under contention (the main job
        // until folio-load lands).
        .executableTarget(name: "folio-demo", dependencies: ["FolioCache", "FolioLocks"]),

        // `swift package load-test …`: builds and runs the load tool.
        .plugin(
            name: "LoadTestCommand",
            capability: .command(
                intent: .custom(verb: "load-test", description: "Build the Folio load tool in release mode and run it"),
                permissions: []),
            path: "Plugins/LoadTestCommand"),

        .target(name: "FolioTestSupport", dependencies: ["FolioLocks"], path: "Tests/FolioTestSupport"),
        .testTarget(name: "FolioLocksTests", dependencies: ["FolioLocks", "FolioTestSupport"]),
        .testTarget(name: "FolioCacheTests", dependencies: ["FolioCache", "FolioTestSupport"]),
    ]
)
