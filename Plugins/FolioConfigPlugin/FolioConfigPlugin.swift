import Foundation
import PackagePlugin

/// Build-tool plugin: a target that carries a `folio.toml` among its sources
/// gets it checked at build time and compiled in as
/// `FolioEmbeddedConfiguration` (`value`, `fileName`, `source`).
///
/// The check runs in the generator (`folio-config generate`), not here:
/// SwiftPM re-runs a command when its declared input changes, but evaluates
/// the plugin itself only when the package graph changes, so a check here
/// would miss an edit that breaks the file. The generator prints
/// `folio.toml:LINE: error: KEY = VALUE: …`, which SwiftPM shows as the
/// build's diagnostic, and fails the build.
@main
struct FolioConfigPlugin: BuildToolPlugin {
    static let fileName = "folio.toml"

    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let input = target.directoryURL.appending(path: Self.fileName)
        guard FileManager.default.fileExists(atPath: input.path) else {
            Diagnostics.warning("FolioConfigPlugin: target '\(target.name)' has no \(Self.fileName); nothing is generated")
            return []
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "FolioEmbeddedConfiguration.swift")
        return [
            .buildCommand(
                displayName: "Checking \(target.name)/\(Self.fileName) and generating FolioEmbeddedConfiguration.swift",
                executable: try context.tool(named: "folio-config").url,
                arguments: ["generate", input.path, output.path],
                inputFiles: [input],
                outputFiles: [output])
        ]
    }
}
