/// Sizes and durations with units, as written in configuration files and
/// environment variables: `4KiB`, `64 MiB`, `1ms`, `10s`.
///
/// Sizes use binary (IEC) units only — `B`, `KiB`, `MiB`, `GiB`, `TiB` — so
/// that `4KiB` is a power of two; decimal `KB`/`MB` are rejected rather than
/// guessed. Durations take `ns`, `us` (or `µs`), `ms`, `s`, `min`, `h`. The
/// number is a non-negative integer (`_` separators allowed, as in TOML).
public enum Units {
    /// The size units and their factors in bytes, smallest first.
    public static let sizeUnits: [(String, Int)] = [("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)]
    /// The duration units and their factors in nanoseconds, smallest first.
    public static let durationUnits: [(String, Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
        ("min", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    /// Bytes for `text` (`"64MiB"`, `"4096"`, `"4096B"`), or nil if it is
    /// not a non-negative integer with one of `sizeUnits`, or overflows.
    public static func parseSize(_ text: String) -> Int? {
        guard let (number, unit) = split(text) else { return nil }
        let factor: Int
        if unit.isEmpty {
            factor = 1
        } else if let match = sizeUnits.first(where: { $0.0 == unit }) {
            factor = match.1
        } else {
            return nil
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }

    /// The duration for `text` (`"1ms"`, `"10 s"`), or nil if it is not a
    /// non-negative integer followed by one of `durationUnits` (a unit is
    /// required: a bare number would be ambiguous), or overflows.
    public static func parseDuration(_ text: String) -> Duration? {
        guard let (number, unit) = split(text), !unit.isEmpty,
              let match = durationUnits.first(where: { $0.0 == unit }) else { return nil }
        let (ns, overflow) = Int64(number).multipliedReportingOverflow(by: match.1)
        return overflow ? nil : .nanoseconds(ns)
    }

    /// `text` as an integer and the unit after it (trimmed; may be empty).
    static func split(_ text: String) -> (Int, String)? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == "_") }
        guard let first = digits.first, first != "_", digits.last != "_" else { return nil }
        guard let number = Int(digits.filter { $0 != "_" }) else { return nil }
        let unit = String(trimmed.dropFirst(digits.count)).trimmingWhitespace()
        return (number, unit)
    }

    /// The largest unit that divides `bytes` exactly: `65536` → `"64KiB"`.
    public static func formatSize(_ bytes: Int) -> String {
        for (unit, factor) in sizeUnits.reversed() where bytes != 0 && bytes % factor == 0 {
            return "\(bytes / factor)\(unit)"
        }
        return "\(bytes)B"
    }

    /// The largest unit that divides `duration` exactly: `.seconds(10)` → `"10s"`.
    public static func formatDuration(_ duration: Duration) -> String {
        let ns = duration.nanosecondsClamped
        for (unit, factor) in durationUnits.reversed() where unit != "µs" && ns != 0 && ns % factor == 0 {
            return "\(ns / factor)\(unit)"
        }
        return "\(ns)ns"
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to `Int64`.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0.properties.isWhitespace }
        var s = String(String.UnicodeScalarView(scalars))
        while let last = s.unicodeScalars.last, last.properties.isWhitespace { s.unicodeScalars.removeLast() }
        return s
    }
}
