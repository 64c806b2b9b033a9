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
        // A swift-service-lifecycle `Service` for a cache (background work,
        // shutdown on graceful shutdown): its own product, so that users of
        // FolioCache alone never resolve ServiceLifecycle.
        .library(name: "FolioService", targets: ["FolioService"]),
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
        // Not a strategy: turns on the lock checker (FolioLocks/LockDep.swift,
        // docs/locking.md). Off by default, and then it costs nothing. An
        // explicit trait list replaces the defaults, so name the strategy too:
        // `swift test --traits DebugLocks,HybridFairLock`.
        .trait(name: "DebugLocks", description: "Check every lock's owner and the lock order (lockdep), with report sites"),
        .default(enabledTraits: ["HybridFairLock"]),
    ],
    dependencies: [
        // TOML configuration files (wraps toml++; no system packages needed).
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // folio-load: command line and latency histograms.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // `swift package generate-documentation` (the DocC catalogs; CI runs it
        // with --warnings-as-errors). A plugin only: nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // Embedding (docs/service.md): logging and metrics in the engine
        // (both silent and cheap unless the host bootstraps a backend), the
        // service lifecycle in FolioService only.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // FilePath, Errno and FilePermissions in the engine's public API (open, I/O errors).
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
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
        .target(name: "FolioCache", dependencies: [
            "FolioLocks", "CLZ4", "CXXHash",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // The cache as a ServiceLifecycle service (docs/service.md).
        .target(name: "FolioService", dependencies: [
            "FolioCache",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),

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
        // The process the crash test SIGKILLs (not a product): writes and
        // syncs stamped records through Folio, reporting each sync on stdout.
        .executableTarget(name: "folio-crash-writer", dependencies: ["FolioCache", "FolioTestSupport"], path: "Tests/folio-crash-writer"),
        // The process the pool-blocking test runs (not a product): the async
        // API under load with a heartbeat task, in a cooperative pool of its
        // own (the test runner's is shared by every test running at once).
        .executableTarget(name: "folio-heartbeat", dependencies: ["FolioCache", "FolioTestSupport"], path: "Tests/folio-heartbeat"),
        .testTarget(name: "FolioLocksTests", dependencies: ["FolioLocks", "FolioTestSupport"]),
        // FolioLoadKit for its truncate-race verifier, which the view race test shares.
        .testTarget(name: "FolioCacheTests", dependencies: ["FolioCache", "FolioTestSupport", "FolioLoadKit", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "FolioLoadTests", dependencies: ["FolioLoadKit", "FolioCache", "FolioTestSupport"]),
        .testTarget(name: "FolioServiceTests", dependencies: [
            "FolioService", "FolioCache", "FolioTestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        .testTarget(name: "FolioConfigurationTests", dependencies: ["FolioConfiguration", "FolioCache", "FolioLocks"]),
    ]
)

// libFuzzer targets (Fuzz/, run by .ci/fuzz; docs/fuzzing.md). An executable
// without main() breaks plain `swift build` and `swift test` (undefined
// `…_main` at link time), so they exist only when ENABLE_FUZZ is set, and are
// built with `--sanitize=fuzzer` in their own scratch directory. They live in
// this package (not one depending on it by path) so that they see `package`
// declarations such as CompressedBlock's testing hooks and the load tool's
// parsers.
if Context.environment["ENABLE_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"))
    let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzConfiguration", ["FolioConfiguration", "FolioCache", "FolioLocks"]),
        ("FuzzTrace", ["FolioLoadKit"]),
        ("FuzzJobFile", ["FolioLoadKit"]),
        ("FuzzCompressedBlock", ["FolioCache"]),
    ]
    for harness in harnesses {
        package.targets.append(.executableTarget(
            name: harness.name, dependencies: harness.dependencies + ["FuzzSupport"], path: "Fuzz/\(harness.name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
    // Writes Fuzz/Corpus/FuzzCompressedBlock's encoded seeds with the real
    // encoder; an ordinary executable, built without the fuzzer runtime.
    package.targets.append(.executableTarget(name: "fuzz-corpus-gen", dependencies: ["FolioCache"], path: "Fuzz/CorpusGenerator"))
}
