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
import PackageDescription

let package = Package(
    name: "FolioBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Folio", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
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
    ]
)
