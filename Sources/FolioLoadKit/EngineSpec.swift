import FolioCache
import Foundation
import FolioLocks

/// What a run measures: a Folio lock strategy (with, for the hybrid, an
/// optional unfairness override) or one of the baselines a user would
/// otherwise pick.
public enum EngineSpec: Hashable, Sendable, CustomStringConvertible {
    case folio(LockStrategyKind, unfairness: Int? = nil)
    /// pread/pwrite straight through the kernel page cache.
    case os
    /// A dictionary with LRU eviction behind one `Mutex`: the typical Swift
    /// LRU cache.
    case mutexDict

    /// `per-page-bit`, `hybrid-fair`, `fair`, `barging`, `per-inode`,
    /// `per-range`, `hybrid-fair@U` (unfairness U), `os`, `mutex-dict`.
    public var description: String {
        switch self {
        case .folio(let k, let u?): "\(k.rawValue)@\(u)"
        case .folio(let k, nil): k.rawValue
        case .os: "os"
        case .mutexDict: "mutex-dict"
        }
    }

    /// Every strategy and preset, then the two baselines.
    public static var all: [EngineSpec] {
        LockStrategyKind.allCases.map { .folio($0) } + [.os, .mutexDict]
    }

    /// Parses a comma-separated list (`all` expands to every engine).
    public static func parseList(_ text: String) throws(LoadError) -> [EngineSpec] {
        var out: [EngineSpec] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map({ String($0).trimmingCharacters(in: .whitespaces) }) {
            if part == "all" {
                out += all
                continue
            }
            out.append(try parse(part))
        }
        guard !out.isEmpty else { throw .badArgument("--strategy: empty list") }
        var seen = Set<EngineSpec>()
        return out.filter { seen.insert($0).inserted }
    }

    static func parse(_ s: String) throws(LoadError) -> EngineSpec {
        if s == "os" { return .os }
        if s == "mutex-dict" { return .mutexDict }
        let allowed = (LockStrategyKind.allCases.map(\.rawValue) + ["hybrid-fair@N", "os", "mutex-dict", "all"]).joined(separator: ", ")
        if let at = s.firstIndex(of: "@") {
            let name = String(s[..<at]), value = String(s[s.index(after: at)...])
            guard name == LockStrategyKind.hybridFair.rawValue else {
                throw .badArgument("--strategy: '\(s)': only hybrid-fair takes an unfairness (hybrid-fair@N)")
            }
            guard let u = Int(value), u >= 0, u <= 1000 else {
                throw .badArgument("--strategy: '\(s)': unfairness must be an integer from 0 to 1000")
            }
            return .folio(.hybridFair, unfairness: u)
        }
        guard let kind = LockStrategyKind(rawValue: s) else {
            throw .badArgument("--strategy: unknown strategy '\(s)'; allowed: \(allowed)")
        }
        return .folio(kind)
    }
}
