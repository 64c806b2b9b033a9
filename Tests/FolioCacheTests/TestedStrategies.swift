import FolioCache
#if canImport(Glibc)
import Glibc
#endif

/// The strategies the engine's parameterized tests run for: every case a
/// user can name, unless `FOLIO_TEST_STRATEGIES` says otherwise.
///
/// - `FOLIO_TEST_STRATEGIES=distinct` (the sanitizer passes of `.ci/run`):
///   one per lock implementation — per-page bit, hybrid-fair, per-inode,
///   per-range. The presets `fair`, `barging` and `hybrid-kernel` are
///   `HybridFairLocking` with another policy: the same code under the
///   sanitizer, whose policies FolioLocksTests check in full there.
/// - a comma-separated list of strategy names runs those (a bad name is a
///   test-setup error, reported by name, not silently skipped).
let testedStrategies: [LockStrategyKind] = {
    guard let raw = getenv("FOLIO_TEST_STRATEGIES").map({ String(cString: $0) }), !raw.isEmpty else {
        return LockStrategyKind.allCases
    }
    if raw == "distinct" { return distinctStrategies }
    return raw.split(separator: ",").map { name in
        guard let kind = LockStrategyKind(rawValue: String(name)) else {
            fatalError("FOLIO_TEST_STRATEGIES: '\(name)' is not a strategy (\(LockStrategyKind.allCases.map(\.rawValue).joined(separator: ", ")), or 'distinct')")
        }
        return kind
    }
}()

/// One strategy per lock implementation: what `distinct` selects.
let distinctStrategies: [LockStrategyKind] = [.perPageBit, .hybridFair, .perInode, .perRange]
