/// Typed, range-checked reads of raw settings. Each read returns nil when the
/// key was not set (the caller keeps the default) and throws a
/// `ConfigurationError` naming the source, line, key, value and what is
/// allowed when it was set wrongly.
struct SettingsReader {
    let settings: [ConfigurationKey: RawSetting]

    static let sizeUnitsText = "units B, KiB, MiB, GiB, TiB"
    static let durationUnitsText = "units ns, us, ms, s, min, h"

    func error(_ key: ConfigurationKey, _ setting: RawSetting, _ kind: ConfigurationError.Kind, _ message: String) -> ConfigurationError {
        ConfigurationError(kind: kind, source: setting.source, line: setting.line, key: key.description, value: setting.written, message: message)
    }

    func wrongType(_ key: ConfigurationKey, _ setting: RawSetting, expected: String) -> ConfigurationError {
        error(key, setting, .wrongType, "expected \(expected), found \(setting.typeName)")
    }

    /// The setting of `key`, if any (for cross-key checks).
    func setting(_ key: ConfigurationKey) -> RawSetting? { settings[key] }

    func int(_ key: ConfigurationKey, in range: ClosedRange<Int>, keyword: String? = nil) throws(ConfigurationError) -> Int?? {
        guard let s = settings[key] else { return nil }
        let expected = keyword.map { "an integer or \"\($0)\"" } ?? "an integer"
        let n: Int
        switch s.value {
        case .int(let i): n = i
        case .string(let text) where text == keyword: return .some(nil)
        case .string(let text) where s.fromEnvironment:
            guard let i = Int(text.trimmingWhitespace()) else { throw wrongType(key, s, expected: expected) }
            n = i
        default: throw wrongType(key, s, expected: expected)
        }
        guard range.contains(n) else {
            let or = keyword.map { ", or \"\($0)\"" } ?? ""
            throw error(key, s, .invalidValue, "out of range; allowed: \(range.lowerBound) to \(range.upperBound)\(or)")
        }
        return .some(n)
    }

    /// A size: an integer number of bytes, or a string with a unit.
    func size(_ key: ConfigurationKey) throws(ConfigurationError) -> Int? {
        guard let s = settings[key] else { return nil }
        let expected = "a size (bytes as an integer, or a string such as \"64MiB\"; \(Self.sizeUnitsText))"
        switch s.value {
        case .int(let i):
            guard i >= 0 else { throw error(key, s, .invalidValue, "a size cannot be negative") }
            return i
        case .string(let text):
            if text.trimmingWhitespace().hasPrefix("-") { throw error(key, s, .invalidValue, "a size cannot be negative") }
            guard let bytes = Units.parseSize(text) else {
                throw error(key, s, .invalidValue, "not a size; expected an integer with an optional unit (\(Self.sizeUnitsText)), such as \"64MiB\" or \"4KiB\"")
            }
            return bytes
        default:
            throw wrongType(key, s, expected: expected)
        }
    }

    /// A duration string with a unit, or `keyword` (→ `.some(nil)`).
    func duration(_ key: ConfigurationKey, in range: ClosedRange<Duration>, keyword: String? = nil) throws(ConfigurationError) -> Duration?? {
        guard let s = settings[key] else { return nil }
        let or = keyword.map { " or \"\($0)\"" } ?? ""
        guard case .string(let text) = s.value else {
            throw wrongType(key, s, expected: "a duration string with a unit, such as \"1ms\" or \"10s\"\(or)")
        }
        if text == keyword { return .some(nil) }
        guard let d = Units.parseDuration(text) else {
            throw error(key, s, .invalidValue, "not a duration; expected an integer and a unit (\(Self.durationUnitsText)), such as \"1ms\" or \"10s\"\(or)")
        }
        guard range.contains(d) else {
            throw error(key, s, .invalidValue,
                        "out of range; allowed: \(Units.formatDuration(range.lowerBound)) to \(Units.formatDuration(range.upperBound))\(or.isEmpty ? "" : "," + or)")
        }
        return .some(d)
    }

    func bool(_ key: ConfigurationKey) throws(ConfigurationError) -> Bool? {
        guard let s = settings[key] else { return nil }
        switch s.value {
        case .bool(let b): return b
        case .string(let text) where s.fromEnvironment:
            switch text.trimmingWhitespace().lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw wrongType(key, s, expected: "true or false (or 1 or 0)")
            }
        default: throw wrongType(key, s, expected: "true or false")
        }
    }

    /// A number in `0 ..< 1`.
    func fraction(_ key: ConfigurationKey) throws(ConfigurationError) -> Double? {
        try number(key, in: "from 0 up to (not including) 1", example: "0.25") { $0 >= 0 && $0 < 1 }
    }

    /// A number in `0 <.. 1` (a share of something, all of it allowed).
    func share(_ key: ConfigurationKey) throws(ConfigurationError) -> Double? {
        try number(key, in: "above 0 up to 1", example: "0.75") { $0 > 0 && $0 <= 1 }
    }

    private func number(_ key: ConfigurationKey, in range: String, example: String,
                        _ allowed: (Double) -> Bool) throws(ConfigurationError) -> Double? {
        guard let s = settings[key] else { return nil }
        let value: Double
        switch s.value {
        case .double(let d): value = d
        case .int(let i): value = Double(i)
        case .string(let text) where s.fromEnvironment:
            guard let d = Double(text.trimmingWhitespace()) else { throw wrongType(key, s, expected: "a number \(range)") }
            value = d
        default: throw wrongType(key, s, expected: "a number \(range)")
        }
        guard allowed(value) else {
            throw error(key, s, .invalidValue, "out of range; allowed: a fraction \(range), such as \(example)")
        }
        return value
    }

    /// One of the raw values of `E`.
    func choice<E: CaseIterable & RawRepresentable>(_ key: ConfigurationKey, as: E.Type, what: String) throws(ConfigurationError) -> E?
    where E.RawValue == String {
        guard let s = settings[key] else { return nil }
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        guard case .string(let text) = s.value else { throw wrongType(key, s, expected: "a string, one of \(allowed)") }
        guard let e = E(rawValue: text.trimmingWhitespace()) else {
            throw error(key, s, .invalidValue, "unknown \(what); allowed: \(allowed)")
        }
        return e
    }
}
