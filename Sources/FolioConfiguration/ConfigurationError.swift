/// Why a configuration was rejected. Every error names where the bad
/// setting came from (the file, with the line where it is known, or the
/// environment variable), the key, the value as written, and what is allowed
/// — so it can be fixed without reading the source.
///
/// `description` is one line in the compiler's diagnostic format
/// (`file:line: error: …`), which is what the build plugin prints.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// What kind of problem the error is.
    public enum Kind: Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The file is not valid TOML.
        case syntax
        /// A key or table the schema does not have.
        case unknownKey
        /// A value of the wrong TOML type (a string where a number belongs…).
        case wrongType
        /// A value of the right type outside what is allowed.
        case invalidValue
    }

    /// What kind of problem this is.
    public var kind: Kind
    /// The file path, or `environment variable FOLIO_…`.
    public var source: String
    /// The line in the file, where known (1-based).
    public var line: Int?
    /// The column, for syntax errors (1-based).
    public var column: Int?
    /// The dotted key (`lock.strategy`), or nil for whole-file errors.
    public var key: String?
    /// The offending value as written (strings quoted).
    public var value: String?
    /// What went wrong and what is allowed.
    public var message: String

    /// An error with the given fields (see each property).
    public init(kind: Kind, source: String, line: Int? = nil, column: Int? = nil, key: String? = nil, value: String? = nil, message: String) {
        self.kind = kind
        self.source = source
        self.line = line
        self.column = column
        self.key = key
        self.value = value
        self.message = message
    }

    /// `file:line:column` as far as known.
    public var location: String {
        var s = source
        if let line {
            s += ":\(line)"
            if let column { s += ":\(column)" }
        }
        return s
    }

    /// One line in the compiler's diagnostic format:
    /// `location: error: key = value: message` (key and value where known).
    public var description: String {
        var s = "\(location): error: "
        if let key {
            s += value.map { "\(key) = \($0): " } ?? "\(key): "
        }
        return s + message
    }
}
