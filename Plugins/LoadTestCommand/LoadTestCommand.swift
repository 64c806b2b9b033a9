import Foundation
import PackagePlugin

/// `swift package load-test [arguments…]`: builds the load tool in release
/// mode and runs it with the given arguments, forwarding its exit status.
///
/// Until `folio-load` lands this runs `folio-demo`, the side-by-side strategy
/// comparison that is the package's main job today.
@main
struct LoadTestCommand: CommandPlugin {
    static let product = "folio-demo"

    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let result = try packageManager.build(
            .product(Self.product), parameters: .init(configuration: .release, logging: .concise))
        guard result.succeeded,
              let executable = result.builtArtifacts.first(where: { $0.kind == .executable })
        else {
            Diagnostics.error("building \(Self.product) failed:\n\(result.logText)")
            return
        }
        let process = Process()
        process.executableURL = executable.url
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Diagnostics.error("\(Self.product) exited with status \(process.terminationStatus)")
        }
    }
}
