import TOMLKit

/// Reads TOML text into raw settings, rejecting syntax errors, unknown
/// tables and unknown keys. Types and ranges are checked later, by
/// `SettingsReader`, for file and environment values alike.
enum TOMLSettings {
    static func read(_ text: String, source: String) throws(ConfigurationError) -> [ConfigurationKey: RawSetting] {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(
                kind: .syntax, source: source, line: error.source.begin.line, column: error.source.begin.column,
                message: "not valid TOML: \(error.description)")
        } catch {
            throw ConfigurationError(kind: .syntax, source: source, message: "not valid TOML: \(error)")
        }

        let locator = KeyLocator(text: text)
        var settings: [ConfigurationKey: RawSetting] = [:]
        for tableName in root.keys.sorted() {
            let line = locator.line(table: tableName, name: nil)
            guard ConfigurationKey.tables.contains(tableName) else {
                throw ConfigurationError(
                    kind: .unknownKey, source: source, line: line, key: tableName,
                    message: "unknown table; allowed tables: \(ConfigurationKey.tables.map { "[\($0)]" }.joined(separator: ", "))")
            }
            guard let value = root[tableName], let table = value.table else {
                throw ConfigurationError(
                    kind: .wrongType, source: source, line: line, key: tableName,
                    message: "expected a table ([\(tableName)] followed by its keys), found a TOML \(root[tableName]?.type.description ?? "value")")
            }
            let allowed = ConfigurationKey.keys(in: tableName)
            for name in table.keys.sorted() {
                let keyLine = locator.line(table: tableName, name: name)
                guard let key = allowed.first(where: { $0.name == name }) else {
                    throw ConfigurationError(
                        kind: .unknownKey, source: source, line: keyLine, key: "\(tableName).\(name)",
                        message: "unknown key; allowed keys in [\(tableName)]: \(allowed.map(\.name).joined(separator: ", "))")
                }
                guard let node = table[name] else { continue }
                settings[key] = RawSetting(value: rawValue(node), source: source, line: keyLine, fromEnvironment: false)
            }
        }
        return settings
    }

    private static func rawValue(_ node: any TOMLValueConvertible) -> RawSetting.Value {
        switch node.type {
        case .int: node.int.map { .int($0) } ?? .other(typeName: "integer")
        case .double: node.double.map { .double($0) } ?? .other(typeName: "float")
        case .bool: node.bool.map { .bool($0) } ?? .other(typeName: "boolean")
        case .string: node.string.map { .string($0) } ?? .other(typeName: "string")
        default: .other(typeName: node.type.description)
        }
    }
}
