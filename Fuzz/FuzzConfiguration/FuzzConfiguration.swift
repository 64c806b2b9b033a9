import FolioCache
import FolioConfiguration
import FolioLocks
import FuzzSupport

/// libFuzzer harness for the configuration parser (`FolioConfiguration`):
/// TOML text and environment overrides → `CacheConfiguration`, and the
/// `Units` size and duration parsers.
///
/// Input: one mode byte, then the payload.
/// - mode % 3 == 0: TOML text, optionally followed by a 0xFF byte and
///   environment lines `NAME=value` (0xFF never occurs in UTF-8, so the split
///   is unambiguous) → `CacheConfiguration.parse(toml:environment:)`.
/// - mode % 3 == 1: environment lines only → `fromEnvironment`, and the same
///   through `parse(toml: "", environment:)`.
/// - mode % 3 == 2: the payload as a `Units` string, and its first 8 bytes
///   as a number to format.
///
/// Invariants (a violation aborts, and libFuzzer keeps the input):
/// - accepted: the configuration passes `validate()`, and its `tomlText`
///   parses back to the same configuration; an accepted TOML text holds no
///   NUL byte (TOML forbids it);
/// - rejected: the error has a message, an error about a setting names its
///   key (an `invalidValue` without one would be the engine's backstop
///   `validate()` catching what the reader let through), and a line number
///   lies inside the text;
/// - the two environment entry points agree;
/// - `Units`: a parsed size or duration is non-negative, survives
///   surrounding whitespace and formats back to itself; any non-negative
///   size or duration formats to a string that parses back to it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(Fuzz.bytes(data, size))
    let mode = input.byte() % 3
    let payload = input.rest
    switch mode {
    case 0: checkTOML(payload)
    case 1: checkEnvironment(environment(from: payload))
    default: checkUnits(payload)
    }
    return 0
}

/// `NAME=value` lines (split at the first `=`; lines without one are skipped).
func environment(from bytes: ArraySlice<UInt8>) -> [String: String] {
    var env: [String: String] = [:]
    for line in String(decoding: bytes, as: UTF8.self).unicodeScalars.split(separator: "\n") {
        let text = String(String.UnicodeScalarView(line))
        guard let eq = text.firstIndex(of: "=") else { continue }
        env[String(text[..<eq])] = String(text[text.index(after: eq)...])
    }
    return env
}

func checkTOML(_ payload: ArraySlice<UInt8>) {
    let split = payload.firstIndex(of: 0xFF)
    let text = String(decoding: payload[..<(split ?? payload.endIndex)], as: UTF8.self)
    let env = split.map { environment(from: payload[(payload.index(after: $0))...]) } ?? [:]
    do throws(ConfigurationError) {
        let c = try CacheConfiguration.parse(toml: text, source: "fuzz.toml", environment: env)
        Fuzz.check(!text.utf8.contains(0), "a TOML text with a NUL byte was accepted (TOML forbids NUL; was the rest ignored?)")
        checkAccepted(c)
        Fuzz.keep(c.swiftSource(fileName: "fuzz.toml", toml: text).utf8.count)
    } catch {
        checkRejected(error, text: text)
    }
}

func checkEnvironment(_ env: [String: String]) {
    let fromEnvironment = Result { () throws(ConfigurationError) in try CacheConfiguration.fromEnvironment(env) }
    let throughParse = Result { () throws(ConfigurationError) in try CacheConfiguration.parse(toml: "", environment: env) }
    switch (fromEnvironment, throughParse) {
    case (.success(let a), .success(let b)):
        Fuzz.check(a == b, "fromEnvironment and parse(toml: \"\") disagree on \(env): \(a) vs \(b)")
        checkAccepted(a)
    case (.failure(let a), .failure(let b)):
        Fuzz.check(a.kind == b.kind && a.key == b.key, "fromEnvironment and parse(toml: \"\") reject \(env) differently: \(a) vs \(b)")
        checkRejected(a, text: nil)
    default:
        Fuzz.check(false, "fromEnvironment and parse(toml: \"\") disagree on \(env): \(fromEnvironment) vs \(throughParse)")
    }
}

func checkAccepted(_ c: CacheConfiguration) {
    do throws(FolioError) { try c.validate() } catch {
        Fuzz.check(false, "an accepted configuration fails validate(): \(error)\n\(c)")
    }
    let text = c.tomlText
    do throws(ConfigurationError) {
        let again = try CacheConfiguration.parse(toml: text, source: "tomlText")
        Fuzz.check(again == c, "tomlText does not round-trip:\n\(text)\nfirst:  \(c)\nsecond: \(again)")
    } catch {
        Fuzz.check(false, "tomlText of an accepted configuration is rejected: \(error)\n\(text)")
    }
    Fuzz.keep(text.utf8.count)
}

func checkRejected(_ error: ConfigurationError, text: String?) {
    Fuzz.check(!error.message.isEmpty, "an error without a message: \(error)")
    switch error.kind {
    case .unknownKey, .wrongType, .invalidValue:
        Fuzz.check(error.key != nil, "an error about a setting does not name the key: \(error)")
    case .syntax, .unreadable:
        break
    }
    if let text, let line = error.line, error.source == "fuzz.toml" {
        let lines = text.utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
        Fuzz.check(line >= 1 && line <= lines, "error line \(line) outside the text's \(lines) lines: \(error)")
    }
    Fuzz.keep(error.description.utf8.count)
}

func checkUnits(_ payload: ArraySlice<UInt8>) {
    let text = String(decoding: payload, as: UTF8.self)
    if let n = Units.parseSize(text) {
        Fuzz.check(n >= 0, "parseSize(\(text.debugDescription)) = \(n) < 0")
        Fuzz.check(Units.parseSize(" \(text)\t") == n, "parseSize depends on surrounding whitespace: \(text.debugDescription)")
        let formatted = Units.formatSize(n)
        Fuzz.check(Units.parseSize(formatted) == n, "parseSize(\(text.debugDescription)) = \(n), formatted \(formatted), which parses to \(String(describing: Units.parseSize(formatted)))")
        Fuzz.keep(n)
    }
    if let d = Units.parseDuration(text) {
        Fuzz.check(d >= .zero, "parseDuration(\(text.debugDescription)) = \(d) < 0")
        Fuzz.check(Units.parseDuration(" \(text)\t") == d, "parseDuration depends on surrounding whitespace: \(text.debugDescription)")
        let formatted = Units.formatDuration(d)
        Fuzz.check(Units.parseDuration(formatted) == d, "parseDuration(\(text.debugDescription)) = \(d), formatted \(formatted), which parses to \(String(describing: Units.parseDuration(formatted)))")
        Fuzz.keep(Int(d.components.seconds))
    }
    var reader = FuzzReader(Array(payload))
    let n = reader.integer(bytes: 8) & Int.max
    let size = Units.formatSize(n)
    Fuzz.check(Units.parseSize(size) == n, "formatSize(\(n)) = \(size) does not parse back")
    let duration = Duration.nanoseconds(Int64(n))
    let spelled = Units.formatDuration(duration)
    Fuzz.check(Units.parseDuration(spelled) == duration, "formatDuration(\(duration)) = \(spelled) does not parse back")
}
