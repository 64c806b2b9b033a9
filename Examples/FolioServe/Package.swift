// swift-tools-version: 6.1
//
// FolioServe: a Hummingbird 2 HTTP server that serves the files of a
// directory through Folio (or, as the baseline, through pread on a thread
// pool), run as a ServiceLifecycle ServiceGroup with graceful shutdown.
// Its own package, depending on Folio by path, so that users of the library
// never build Hummingbird. scripts/http-bench drives it with wrk.
import PackageDescription

let package = Package(
    name: "FolioServe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "folio-serve", targets: ["FolioServe"]),
    ],
    dependencies: [
        .package(name: "Folio", path: "../.."),
        // `traits: []` skips swift-configuration (toolchain.md §12: half the build).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "FolioServeKit", dependencies: [
            .product(name: "FolioCache", package: "Folio"),
            .product(name: "FolioConfiguration", package: "Folio"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "FolioServe", dependencies: [
            "FolioServeKit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Without HummingbirdTesting: it pulls in AsyncHTTPClient (and TLS),
        // minutes of CI build; the tests speak HTTP/1.1 over a socket.
        .testTarget(name: "FolioServeTests", dependencies: ["FolioServeKit"]),
    ]
)
