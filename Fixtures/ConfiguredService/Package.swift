// swift-tools-version: 6.1
//
// A fixture for .ci/run: a service that picks its lock strategy with a
// package trait on the `.package` line and compiles in its folio.toml with
// FolioConfigPlugin. `BrokenConfig` carries an invalid folio.toml: building
// it must fail with a diagnostic naming the key.
import PackageDescription

let package = Package(
    name: "ConfiguredService",
    dependencies: [
        .package(name: "Folio", path: "../..", traits: ["PerRangeLock"]),
    ],
    targets: [
        .executableTarget(
            name: "ConfiguredService",
            dependencies: [.product(name: "FolioCache", package: "Folio")],
            plugins: [.plugin(name: "FolioConfigPlugin", package: "Folio")]),
        .target(
            name: "BrokenConfig",
            dependencies: [.product(name: "FolioCache", package: "Folio")],
            plugins: [.plugin(name: "FolioConfigPlugin", package: "Folio")]),
    ]
)
