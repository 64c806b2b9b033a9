// swift-tools-version: 6.1
//
// Benchmarks for Folio, in their own package so that users of Folio never
// resolve benchmark dependencies.
//
//     cd Benchmarks && swift package benchmark --no-progress
//
// `traits: ["MallocInterposer"]` replaces package-benchmark's default traits
// (MallocInterposer + RuntimeInterposer); the runtime interposer needs a
// package that is not in the offline mirror.
import Foundation
import PackageDescription

// `FOLIO_DEBUG_LOCKS=1` builds Folio with its `DebugLocks` trait (the lock
// checker) on top of its default strategy trait, to measure what the checker
// costs (docs/performance.md, "Debug locks"). Use a scratch path of its own for
// it (`--scratch-path ../.build-bench-dl`): the two builds are different code.
let folioTraits: Set<Package.Dependency.Trait> = ProcessInfo.processInfo.environment["FOLIO_DEBUG_LOCKS"] == "1"
    ? [.defaults, "DebugLocks"] : [.defaults]

let package = Package(
    name: "FolioBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Folio", path: "..", traits: folioTraits),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // A recording metrics backend for the hit path with metrics on (CacheBenchmarks/MetricsBenchmarks.swift).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "LockBenchmarks",
            dependencies: [
                .product(name: "FolioLocks", package: "Folio"),
                .product(name: "FolioCache", package: "Folio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "LockBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "CacheBenchmarks",
            dependencies: [
                .product(name: "FolioLocks", package: "Folio"),
                .product(name: "FolioCache", package: "Folio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "CacheBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // CompressedBlock against bare LZ4 and against LZ4's frame format
        // (the checksum candidates), and 64 KiB against 4 KiB units
        // (docs/performance.md, "Compressed blocks").
        .executableTarget(
            name: "CompressionBenchmarks",
            dependencies: [
                .product(name: "FolioCache", package: "Folio"),
                .product(name: "Benchmark", package: "benchmark"),
                "CLZ4Frame",
            ],
            path: "CompressionBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // liblz4's frame API (lz4frame.h), which Folio's CLZ4 does not expose.
        .systemLibrary(name: "CLZ4Frame", path: "CLZ4Frame", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // Trace-driven miss-ratio simulator for the eviction policies, checked
        // against libCacheSim by scripts/policy-check/run.sh (docs/eviction.md).
        // Not a package-benchmark target: its sources are one level deeper so
        // the benchmark plugin (which runs every executable directly in
        // Benchmarks/) skips it.
        .executableTarget(
            name: "PolicySim",
            dependencies: [.product(name: "FolioCache", package: "Folio")],
            path: "PolicySim/Sources"
        ),
        // Async read throughput on the cooperative pool against the
        // synchronous API on as many threads (docs/performance.md, "The async
        // API"): started from the main thread, which package-benchmark's
        // bodies are not (they run on a pool thread). Sources one level deeper
        // for the same reason as PolicySim's.
        .executableTarget(
            name: "AsyncThroughput",
            dependencies: [
                .product(name: "FolioCache", package: "Folio"),
                .product(name: "FolioLocks", package: "Folio"),
            ],
            path: "AsyncThroughput/Sources"
        ),
    ]
)
