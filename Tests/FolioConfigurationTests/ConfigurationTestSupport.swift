import FolioCache
import FolioConfiguration
import Foundation
import Testing

/// The repository root (tests read docs/examples/ and docs/configuration.md).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Every example file under docs/examples/.
func exampleFiles() -> [String] {
    let dir = repositoryRoot.appendingPathComponent("docs/examples")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.filter { $0.hasSuffix(".toml") }.sorted().map { dir.appendingPathComponent($0).path }
}

/// Parses `toml` (as file "test.toml") and returns the error it must raise.
func rejection(_ toml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    do {
        let c = try CacheConfiguration.parse(toml: toml, source: "test.toml", environment: environment)
        Issue.record("accepted, expected an error: \(c)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A temporary file holding `text`.
func temporaryFile(_ text: String, name: String = "folio.toml") throws -> String {
    let dir = NSTemporaryDirectory() + "folio-config-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
