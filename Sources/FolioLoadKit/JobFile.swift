import Foundation

/// fio-style job files: `[global]` and `[job-name]` sections of `key=value`
/// lines whose keys are the `run` flags without `--` (`workload=zipf`,
/// `threads=1,2,4`); `;` and `#` start comments. Each job section (with the
/// global keys it does not override) is one run; their results go into one
/// report. Values are handed to the same option parser as the command line,
/// so the same validation and messages apply.
package enum JobFile {
    package struct Job: Equatable {
        package var name: String
        /// Arguments for `RunOptions.parse`.
        package var arguments: [String]
    }

    /// Keys that are not run options (output goes on the command line).
    package static let outputKeys: Set<String> = ["format", "output", "plot", "quiet", "json", "job"]

    static func load(path: String) throws(LoadError) -> [Job] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .badArgument("--job \(path): cannot read the file")
        }
        return try parse(text, source: path)
    }

    package static func parse(_ text: String, source: String) throws(LoadError) -> [Job] {
        var global: [(String, String)] = []
        var jobs: [(String, [(String, String)])] = []
        var current: String? = nil
        // Lines end at U+000A, split as scalars: a String's "\r\n" is one
        // Character, so splitting Characters at "\n" glued CRLF lines into
        // their neighbours (`max-wait=200u\r\ns` read as one value).
        for (n, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(String.UnicodeScalarView(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix(";") || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                guard line.hasSuffix("]"), line.count > 2, !name.isEmpty else {
                    throw .badArgument("--job \(source):\(n + 1): bad section header '\(line)'")
                }
                current = name
                if name != "global" { jobs.append((name, [])) }
                continue
            }
            guard let section = current else {
                throw .badArgument("--job \(source):\(n + 1): '\(line)' before any [section]")
            }
            // Empty parts kept: a line `=` split to no parts at all, and
            // `parts[0]` trapped.
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let key = parts[0], value = parts.count == 2 ? parts[1] : ""
            guard !key.isEmpty, parts.count == 2, !value.isEmpty else {
                throw .badArgument("--job \(source):\(n + 1): expected key=value, got '\(line)'")
            }
            if outputKeys.contains(key) {
                throw .badArgument("--job \(source):\(n + 1): '\(key)' is an output option; give it on the command line")
            }
            if section == "global" { global.append((key, value)) } else { jobs[jobs.count - 1].1.append((key, value)) }
        }
        guard !jobs.isEmpty else { throw .badArgument("--job \(source): no [job] section") }
        return jobs.map { name, keys in
            let own = Set(keys.map(\.0))
            let merged = global.filter { !own.contains($0.0) } + keys
            return Job(name: name, arguments: merged.flatMap { ["--\($0.0)", $0.1] })
        }
    }
}
