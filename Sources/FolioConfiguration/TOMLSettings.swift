import TOMLKit

/// Reads TOML text into raw settings, rejecting syntax errors, unknown
/// tables and unknown keys. Types and ranges are checked later, by
/// `SettingsReader`, for file and environment values alike.
enum TOMLSettings {
    static func read(_ text: String, source: String) throws(ConfigurationError) -> [ConfigurationKey: RawSetting] {
        // TOMLKit hands toml++ a C string, which ends at the first NUL: the
        // rest of the file would be ignored without a word. TOML allows no
        // NUL anywhere, so it is a syntax error, reported where it is.
        if text.utf8.contains(0) {
            var line = 1, column = 1
            for scalar in text.unicodeScalars {
                if scalar == "\0" {
                    throw ConfigurationError(
                        kind: .syntax, source: source, line: line, column: column,
                        message: "not valid TOML: a NUL character (TOML allows no control characters but tab and line breaks)")
                }
                if scalar == "\n" { (line, column) = (line + 1, 1) } else { column += 1 }
            }
        }
        try checkTableHeaders(text, source: source)
        try checkArrayValues(text, source: source)
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

    /// toml++ 3 (under TOMLKit 0.6.0) parses a table header's first key
    /// without checking that one starts there: `[%]`, `[ #]` or a `[` at the
    /// end of a line fail its `TOML_ASSERT_ASSUME` — an abort in this build,
    /// undefined behaviour with NDEBUG. So such a header is reported here,
    /// before toml++ sees it. Line-based: a line inside a multi-line string
    /// that looks like such a header is rejected too (no schema value can
    /// hold one anyway).
    private static func checkTableHeaders(_ text: String, source: String) throws(ConfigurationError) {
        var lineNumber = 0
        for line in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var i = line.startIndex
            func skip(_ blank: (Unicode.Scalar) -> Bool) { while i < line.endIndex, blank(line[i]) { i = line.index(after: i) } }
            skip { $0 == " " || $0 == "\t" || ($0 == "\u{FEFF}" && lineNumber == 1) }
            guard i < line.endIndex, line[i] == "[" else { continue }
            i = line.index(after: i)
            if i < line.endIndex, line[i] == "[" { i = line.index(after: i) }
            skip { $0 == " " || $0 == "\t" }
            if i < line.endIndex {
                let c = line[i]
                if c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "_-\"']".unicodeScalars.contains(c)) { continue }
            }
            let saw = i < line.endIndex ? "'\(line[i].escaped(asASCII: false))'" : "the end of the line"
            throw ConfigurationError(
                kind: .syntax, source: source, line: lineNumber, column: line.distance(from: line.startIndex, to: i) + 1,
                message: "not valid TOML: a table header needs a key after '[' (a letter, digit, _ or -, or a quoted key), saw \(saw)")
        }
    }

    /// toml++ 3 also asserts (aborts) on a `}` where an array value
    /// belongs: `a = [}`, `[1, }`, `[` and a `}` on the next line. Outside
    /// strings and comments, a `}` right after `[` or `,` is never valid
    /// TOML (`{a = 1,}` is a dangling comma), so it is reported here.
    private static func checkArrayValues(_ text: String, source: String) throws(ConfigurationError) {
        let s = Array(text.unicodeScalars)
        func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }
        var i = 0, line = 1, lineStart = 0
        var previous: Unicode.Scalar? = nil  // the last scalar outside blanks, strings and comments
        while i < s.count {
            let c = s[i]
            switch c {
            case "\n":
                (line, lineStart, i) = (line + 1, i + 1, i + 1)
            case " ", "\t", "\r":
                i += 1
            case "#":
                while i < s.count, s[i] != "\n" { i += 1 }
            case "\"", "'":
                let triple = at(i + 1) == c && at(i + 2) == c
                i += triple ? 3 : 1
                while i < s.count {
                    let d = s[i]
                    if d == "\\" && c == "\"" {  // an escape: skip what it escapes
                        if at(i + 1) == "\n" { (line, lineStart) = (line + 1, i + 2) }
                        i += 2
                        continue
                    }
                    if d == "\n" {
                        if !triple { break }  // unterminated: toml++ reports it
                        (line, lineStart) = (line + 1, i + 1)
                    }
                    if d == c && (!triple || (at(i + 1) == c && at(i + 2) == c)) {
                        i += triple ? 3 : 1
                        break
                    }
                    i += 1
                }
                previous = c
            default:
                if c == "}", let p = previous, p == "[" || p == "," {
                    throw ConfigurationError(
                        kind: .syntax, source: source, line: line, column: i - lineStart + 1,
                        message: "not valid TOML: '}' right after '\(p)' (an array needs a value or ']' there)")
                }
                previous = c
                i += 1
            }
        }
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
