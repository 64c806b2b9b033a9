import FolioConfiguration
import Foundation
import Testing

/// docs/configuration.md documents every key and its environment variable.
@Suite struct DocumentationTests {
    @Test func everyKeyIsDocumented() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for key in ConfigurationKey.all {
            #expect(doc.contains("`\(key.name)`"), "docs/configuration.md does not document \(key)")
            #expect(doc.contains(key.environmentVariable), "docs/configuration.md does not name \(key.environmentVariable)")
        }
        for table in ConfigurationKey.tables {
            #expect(doc.contains("[\(table)]"))
        }
    }
}
