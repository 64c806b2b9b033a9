/// A request path checked for serving from a directory: percent-decoded,
/// split into components, none of which may climb out of the directory.
///
/// `/a/b.txt` → `["a", "b.txt"]`. Refused (`ServeError.badPath`, 400):
/// a path not starting with `/`, a bad percent escape, a NUL byte, a `.` or
/// `..` component (also when spelled `%2e%2e`), a backslash. `/` itself
/// names no file (`notFound`).
/// Empty components (`//`) are dropped. Symbolic links that lead outside the
/// directory are the file source's check (`FileSource`), since only the file
/// system knows them.
public struct ServePath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public init(requestPath raw: Substring) throws(ServeError) {
        guard raw.first == "/" else { throw .badPath("the path does not start with /") }
        let decoded = try Self.percentDecoded(raw.utf8)
        guard !decoded.contains(0) else { throw .badPath("NUL byte in the path") }
        guard !decoded.contains(UInt8(ascii: "\\")) else { throw .badPath("backslash in the path") }
        var parts: [String] = []
        for part in decoded.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let name = String(decoding: part, as: UTF8.self)
            guard name != ".", name != ".." else { throw .badPath("'\(name)' component") }
            // Decoding replaced invalid UTF-8: refuse rather than serve another name.
            guard Array(name.utf8) == Array(part) else { throw .badPath("the path is not UTF-8") }
            parts.append(name)
        }
        guard !parts.isEmpty else { throw .notFound }
        components = parts
    }

    /// The path below the served directory, `a/b.txt`.
    public var relative: String { components.joined(separator: "/") }
    public var description: String { "/" + relative }

    static func percentDecoded(_ bytes: Substring.UTF8View) throws(ServeError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            if b == UInt8(ascii: "%") {
                let h = bytes.index(after: i)
                guard h != bytes.endIndex, bytes.index(after: h) != bytes.endIndex,
                      let hi = hexValue(bytes[h]), let lo = hexValue(bytes[bytes.index(after: h)])
                else { throw .badPath("bad percent escape") }
                out.append(hi << 4 | lo)
                i = bytes.index(h, offsetBy: 2)
            } else {
                out.append(b)
                i = bytes.index(after: i)
            }
        }
        return out
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
