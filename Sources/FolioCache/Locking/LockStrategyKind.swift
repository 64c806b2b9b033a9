import FolioLocks

/// The strategies and presets a user can name (in a configuration file, on the
/// load tool's command line). The raw values are the configuration spellings.
public enum LockStrategyKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Lock bit in the folio's word, wake-and-retry (Linux before 5.9).
    case perPageBit = "per-page-bit"
    /// The bit lock with bounded spinning and bounded unfairness (Linux 5.9+ style).
    case hybridFair = "hybrid-fair"
    /// Preset of the hybrid: strict FIFO handoff, no spin (Linux 5.9 before the fix).
    case fair
    /// Preset of the hybrid: no fairness bound at all.
    case barging
    /// Preset of the hybrid: the kernel-faithful one (Linux 5.9+: at most 5
    /// lost races, spin 40, no time bound), `HybridLockPolicy.kernel`.
    case hybridKernel = "hybrid-kernel"
    /// One reader-writer lock per file.
    case perInode = "per-inode"
    /// A range lock per file over page indices.
    case perRange = "per-range"

    /// The configuration spelling (the raw value).
    public var description: String { rawValue }
}
