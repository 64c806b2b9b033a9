/// A value found for a schema key, before it is checked, and where it came
/// from (a line of a file, or an environment variable).
struct RawSetting: Sendable {
    enum Value: Sendable {
        case int(Int)
        case double(Double)
        case bool(Bool)
        case string(String)
        /// A TOML value of a type no key takes (array, table, date…).
        case other(typeName: String)
    }

    var value: Value
    /// The file path, or `environment variable FOLIO_…`.
    var source: String
    var line: Int?
    /// Environment values are strings that are read as the key's type.
    var fromEnvironment: Bool

    /// The value as written, for messages (strings quoted).
    var written: String {
        switch value {
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .bool(let b): String(b)
        case .string(let s): "\"\(s)\""
        case .other(let type): "<\(type)>"
        }
    }

    /// What kind of value it is, for "expected …, found …" messages.
    var typeName: String {
        switch value {
        case .int: "an integer"
        case .double: "a floating-point number"
        case .bool: "a boolean"
        case .string: "a string"
        case .other(let type): "a TOML \(type)"
        }
    }
}
