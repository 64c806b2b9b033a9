import Foundation

/// A block trace for `replay`: either one page number per line (the format
/// of the classic ARC/LIRS traces; blank lines and `#` comments skipped) or
/// CSV lines `op,offset,length` (op `r`/`read` or `w`/`write`; offset and
/// length in bytes; an optional header line `op,offset,length`). A CSV access
/// touches every page its byte range covers.
package struct Trace: Sendable {
    package struct Access: Sendable, Equatable {
        package var write: Bool
        package var page: Int
    }
    package var accesses: [Access]

    static func load(path: String, pageSize: Int) throws(LoadError) -> Trace {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .badArgument("--trace \(path): cannot read the file")
        }
        return try parse(text, source: path, pageSize: pageSize)
    }

    package static func parse(_ text: String, source: String, pageSize: Int) throws(LoadError) -> Trace {
        var out: [Access] = []
        var lineNumber = 0
        // Lines end at U+000A, split as scalars: a String's "\r\n" is one
        // Character, so splitting Characters at "\n" glued CRLF lines into
        // their neighbours (and a comment swallowed the lines after it).
        for raw in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(String.UnicodeScalarView(raw)).trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            // Empty fields count: `r,,0,4096` is four fields, not three.
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if fields.count == 1 {
                guard let page = Int(fields[0]), page >= 0 else {
                    throw .badArgument("--trace \(source):\(lineNumber): '\(line)' is not a page number (a non-negative integer) nor op,offset,length")
                }
                out.append(Access(write: false, page: page))
            } else if fields.count == 3 {
                if out.isEmpty && fields[0].lowercased() == "op" { continue }  // the header
                let op = fields[0].lowercased()
                guard op == "r" || op == "read" || op == "w" || op == "write" else {
                    throw .badArgument("--trace \(source):\(lineNumber): op '\(fields[0])' is not r, read, w or write")
                }
                guard let offset = Int(fields[1]), offset >= 0, let length = Int(fields[2]), length > 0,
                      offset <= Int.max - length else {
                    throw .badArgument("--trace \(source):\(lineNumber): offset and length must be integers, offset ≥ 0, length > 0")
                }
                let first = offset / pageSize, last = (offset + length - 1) / pageSize
                guard last - first < 1 << 20 else {
                    throw .badArgument("--trace \(source):\(lineNumber): an access of \(length) bytes is too long")
                }
                for p in first...last { out.append(Access(write: op.hasPrefix("w"), page: p)) }
            } else {
                throw .badArgument("--trace \(source):\(lineNumber): expected a page number or op,offset,length, got '\(line)'")
            }
        }
        guard !out.isEmpty else { throw .badArgument("--trace \(source): no accesses") }
        return Trace(accesses: out)
    }
}
