/// Finds the line of a key in TOML text, for error messages (TOMLKit reports
/// lines for syntax errors only). It recognises `[table]` headers followed by
/// `key = …` lines, and dotted `table.key = …` lines; a key written any
/// other way (an inline table) gets no line rather than a wrong one. This
/// only points at a line: the file is parsed by TOMLKit.
struct KeyLocator {
    private var lines: [(table: String?, key: String, line: Int)] = []
    private var headers: [String: Int] = [:]

    init(text: String) {
        var table: String? = nil
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.trimmingWhitespace()
            if line.hasPrefix("[") {
                let name = line.dropFirst().prefix { $0 != "]" }.trimmingWhitespace()
                table = name
                if headers[name] == nil { headers[name] = number }
                continue
            }
            guard let eq = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
            let key = line[..<eq].trimmingWhitespace().filter { $0 != "\"" && $0 != "'" }
            lines.append((table, key, number))
        }
    }

    /// The line of `name` in `table` (or of the table's header when `name`
    /// is nil).
    func line(table: String, name: String?) -> Int? {
        guard let name else {
            return headers[table] ?? lines.first { $0.table == nil && ($0.key == table || $0.key.hasPrefix(table + ".")) }?.line
        }
        return lines.first { ($0.table == table && $0.key == name) || ($0.table == nil && $0.key == "\(table).\(name)") }?.line
    }
}
