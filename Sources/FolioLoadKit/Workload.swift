/// The workloads of `folio-load run --workload`.
public enum Workload: String, CaseIterable, Sendable, Codable {
    /// Every thread faults and writes the same page through views (map one
    /// page, write 8 bytes of its own, unmap): the microbenchmark of the 2020
    /// page-lock discussion.
    case hammer
    /// Every thread maps a page of the same small file, reads it through the
    /// view and unmaps it (the Apache/Siege case: many threads faulting the
    /// same mmap'd pages).
    case sharedFile = "shared-file"
    /// 4 KiB reads with Zipf-distributed page numbers over the working set.
    case zipf
    /// 4 KiB reads with uniformly distributed page numbers.
    case uniform
    /// Sequential 4 KiB reads through the working set, each thread from its
    /// own starting point, wrapping around.
    case scan
    /// Half the reads from a small hot set (Zipf), half a sequential scan over
    /// the rest of the file: scan resistance shows in the hit ratio.
    case scanHot = "scan-hot"
    /// Reads and writes (`--read-ratio`) of Zipf-distributed pages.
    case mixed
    /// Each thread writes its own disjoint range of one file.
    case rangeWriters = "range-writers"
    /// View faults racing truncates, with stamped pages verified; a bad page
    /// fails the run (exit status 1).
    case truncateRace = "truncate-race"
    /// One file, stamped pages: a collapser calling the file's `compact()`,
    /// a truncater cutting the file (splitting large folios) and regrowing
    /// it, readers checking every page they read, writers rewriting pages.
    case collapseChurn = "collapse-churn"
    /// Reads over several files in one cache.
    case multiFile = "multi-file"
    /// Replays a block trace (`--trace FILE`).
    case replay
    /// The hit loops of HitLoops.swift — batches of 64 reads of cached
    /// pages: every thread page 0; each thread a page of its own; pages
    /// uniformly over the file.
    case hitHot = "hit-hot"
    case hitDistinct = "hit-distinct"
    case hitUniform = "hit-uniform"

    /// Why this workload cannot run in this build, if it cannot (none today;
    /// kept so that a workload can be listed before the engine supports it,
    /// and refused with status 2 rather than faked).
    public var unavailableReason: String? { nil }

    /// Whether the workload goes through views (mmap-style faults).
    var usesViews: Bool { self == .hammer || self == .sharedFile || self == .truncateRace || self == .collapseChurn }

    /// Whether the files hold stamped pages the workload checks (whatever
    /// `--data` says).
    var stamped: Bool { self == .truncateRace || self == .collapseChurn }
}
