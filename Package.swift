// swift-tools-version: 6.1
//
// Folio: an embeddable, file-backed page cache whose synchronization is
// delegated to pluggable lock strategies.
//
// Module arrows point one way: CFolioShims → FolioLocks → FolioCache →
// FolioConfiguration (the TOML parser stays out of the core) → tools.
// Benchmarks live in their own package (Benchmarks/) so users of Folio never
// resolve benchmark dependencies.
import PackageDescription

let package = Package(
    name: "Folio",
    products: [
        .library(name: "FolioLocks", targets: ["FolioLocks"]),
        .library(name: "FolioCache", targets: ["FolioCache"]),
        .library(name: "FolioConfiguration", targets: ["FolioConfiguration"]),
        .executable(name: "folio-demo", targets: ["folio-demo"]),
        .executable(name: "folio-config", targets: ["folio-config"]),
        .executable(name: "folio-load", targets: ["folio-load"]),
        // A target that carries a `folio.toml` gets it validated at build time
        // and embedded as a generated constant (docs/configuration.md).
        .plugin(name: "FolioConfigPlugin", targets: ["FolioConfigPlugin"]),
    ],
    // Build-time choice of the strategy `DefaultPageCache` uses. Exactly one
    // may be enabled; none given means HybridFairLock (docs/configuration.md).
    traits: [
        .trait(name: "PerPageBitLock", description: "DefaultPageCache uses per-page-bit locking"),
        .trait(name: "HybridFairLock", description: "DefaultPageCache uses hybrid-fair locking (the default)"),
        .trait(name: "FairLock", description: "DefaultPageCache uses the fair preset (strict FIFO handoff)"),
        .trait(name: "BargingLock", description: "DefaultPageCache uses the barging preset (no fairness bound)"),
        .trait(name: "PerInodeLock", description: "DefaultPageCache uses one reader-writer lock per file"),
        .trait(name: "PerRangeLock", description: "DefaultPageCache uses a range lock per file"),
        .default(enabledTraits: ["HybridFairLock"]),
    ],
    dependencies: [
        // TOML configuration files (wraps toml++; no system packages needed).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // folio-load: command line and latency histograms.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // C: futex(2), atomics on raw futex words, the pause hint.
        .target(name: "CFolioShims"),
        // System liblz4 (apt: liblz4-dev).
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // System libxxhash (apt: libxxhash-dev): XXH3-64, the compressed blocks' checksum.
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),

        // The parking lot and lock primitives. Knows nothing about files or pages.
        .target(name: "FolioLocks", dependencies: ["CFolioShims"]),
        // The cache engine: folios, mappings, lock strategies, compression.
        .target(name: "FolioCache", dependencies: ["FolioLocks", "CLZ4", "CXXHash"]),

        // Small demo that drives every strategy under contention (the main job
        // until folio-load lands).
        .executableTarget(name: "folio-demo", dependencies: ["FolioCache", "FolioLocks"]),

        // Configuration files: TOML schema, units, environment overrides,
        // validation. Depends on the engine, never the other way round.
        .target(name: "FolioConfiguration", dependencies: ["FolioCache", "FolioLocks", .product(name: "TOMLKit", package: "TOMLKit")]),
        // `folio-config check|show|default-strategy|generate`: validates files
        // and is the build plugin's generator.
        .executableTarget(name: "folio-config", dependencies: ["FolioConfiguration", "FolioCache"]),
        .plugin(name: "FolioConfigPlugin", capability: .buildTool(), dependencies: ["folio-config"], path: "Plugins/FolioConfigPlugin"),

        // The load tool: workloads, engines (every strategy + the OS page cache
        // + a Mutex'd dictionary), measurement, reports. A library so that it
        // can be tested; `folio-load` is its command line.
        .target(name: "FolioLoadKit", dependencies: [
            "FolioCache", "FolioLocks", "FolioConfiguration",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        .executableTarget(name: "folio-load", dependencies: ["FolioLoadKit"]),

        // `swift package load-test …`: builds and runs the load tool.
        .plugin(
            name: "LoadTestCommand",
            capability: .command(
                intent: .custom(verb: "load-test", description: "Build the Folio load tool in release mode and run it"),
                permissions: []),
            path: "Plugins/LoadTestCommand"),

        .target(name: "FolioTestSupport", dependencies: ["FolioLocks"], path: "Tests/FolioTestSupport"),
        .testTarget(name: "FolioLocksTests", dependencies: ["FolioLocks", "FolioTestSupport"]),
        // FolioLoadKit for its truncate-race verifier, which the view race test shares.
        .testTarget(name: "FolioCacheTests", dependencies: ["FolioCache", "FolioTestSupport", "FolioLoadKit"]),
        .testTarget(name: "FolioLoadTests", dependencies: ["FolioLoadKit", "FolioCache", "FolioTestSupport"]),
        .testTarget(name: "FolioConfigurationTests", dependencies: ["FolioConfiguration", "FolioCache", "FolioLocks"]),
    ]
)
