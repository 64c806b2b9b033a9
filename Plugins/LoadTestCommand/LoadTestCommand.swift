import Foundation
import PackagePlugin

/// `swift package load-test [arguments…]`: builds the load tool (`folio-load`)
/// in release mode and runs it with the given arguments, e.g.
/// `swift package load-test run --workload hammer --strategy all --threads 1:16:x2`.
/// A first argument `--debug` builds it in debug mode instead: a quick check
/// that the tool runs (CI), whose timings mean nothing.
@main
struct LoadTestCommand: CommandPlugin {
    static let product = "folio-load"

    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let debug = arguments.first == "--debug"
        let arguments = debug ? Array(arguments.dropFirst()) : arguments
        let result = try packageManager.build(
            .product(Self.product), parameters: .init(configuration: debug ? .debug : .release, logging: .concise))
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
            throw LoadTestFailed(status: process.terminationStatus)
        }
    }
}

struct LoadTestFailed: Error, CustomStringConvertible {
    let status: Int32
    var description: String { "folio-load exited with status \(status)" }
}
