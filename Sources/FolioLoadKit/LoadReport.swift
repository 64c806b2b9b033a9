/// The JSON document `folio-load run --format json` writes (schema version 2,
/// documented in docs/load-testing.md). Field names are part of the stable
/// surface: add fields, never rename or remove them without bumping
/// `schemaVersion`.
///
/// Version 2 added the large-folio and compression fields (`collapseAborts`,
/// `readaheadFolios`, `compressedFolios`, `logicalBytes`, `residentBytes`,
/// `effectiveCapacity`, `checksumFailures`; `collapses` and `splits` are
/// filled) and dropped `bytesSaved` (always null in version 1; it is
/// `logicalBytes - residentBytes`).
public struct LoadReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 2
    /// Versions `compare` reads: a version-1 report decodes with the
    /// version-2 fields absent.
    public static let readableSchemaVersions = 1...2

    public var schemaVersion: Int = LoadReport.currentSchemaVersion
    public var tool: String = "folio-load"
    /// Host facts that matter for reading the numbers.
    public var host: Host
    /// The parameters, as `flag: value` strings.
    public var parameters: [String: String]
    public var results: [LoadResult]

    public struct Host: Codable, Sendable, Equatable {
        public var cpus: Int
        public var memoryBytes: UInt64
    }

    public init(host: Host, parameters: [String: String], results: [LoadResult]) {
        self.host = host
        self.parameters = parameters
        self.results = results
    }
}

/// Percentiles of a distribution, in nanoseconds.
public struct Percentiles: Codable, Sendable, Equatable {
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64) {
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    public static let zero = Percentiles(p50: 0, p99: 0, p999: 0, max: 0)
}

/// One (workload, strategy, threads) measurement.
public struct LoadResult: Codable, Sendable, Equatable {
    public var workload: String
    public var strategy: String
    public var threads: Int
    /// Measured wall time (warm-up excluded).
    public var seconds: Double
    public var operations: UInt64
    public var opsPerSecond: Double
    /// Payload bytes moved per second (reads + writes), in MB (10^6 B).
    public var megabytesPerSecond: Double
    /// Per-operation latency (every operation timed).
    public var latencyNs: Percentiles
    /// Slow-path lock waits (zeros for the baselines, which have no Folio
    /// locks; see `lockStatisticsAvailable`).
    public var lockWaitNs: Percentiles
    public var lockStatisticsAvailable: Bool
    public var perThreadOps: [UInt64]
    /// What each thread of `perThreadOps` did, for workloads whose threads
    /// differ (truncate-race, collapse-churn); absent otherwise.
    public var threadRoles: [String]?
    public var minThreadOps: UInt64
    public var maxThreadOps: UInt64
    /// Jain's fairness index of `perThreadOps`: 1 = even, 1/threads = one
    /// thread did everything.
    public var jainIndex: Double
    /// Whether the per-thread operation counters (summed into `operations`)
    /// add up to the number of latency samples — two counts kept
    /// independently by every thread (its counter and its histogram).
    public var countsAddUp: Bool
    /// Page accesses served without reading the file (nil: the engine cannot
    /// tell — the kernel's page cache).
    public var hitRatio: Double?
    public var misses: UInt64?
    public var evictions: UInt64?
    /// Lock slow-path counters (nil for the baselines).
    public var slowAcquisitions: UInt64?
    public var parks: UInt64?
    public var handoffs: UInt64?
    /// Times a woken waiter found the lock taken by a barger (lost races).
    public var steals: UInt64?
    /// The most times any one waiter was overtaken (the quantity the
    /// hybrid's `unfairness` bounds).
    public var maxOvertaken: UInt64?
    /// Process CPU time (user + system) during the measurement.
    public var cpuSeconds: Double
    /// Large folios and compression (`CacheStatistics`), for the Folio
    /// engines; nil (absent) for the baselines. Counters — `collapses`,
    /// `collapseAborts`, `splits`, `readaheadFolios`, `checksumFailures` —
    /// count the measured phase only (like `misses`); `compressedFolios`,
    /// `logicalBytes`, `residentBytes` and `effectiveCapacity` are values at
    /// its end.
    /// Runs of pages merged into one large folio.
    public var collapses: UInt64?
    /// Collapses given up, by reason: every one of busy, pinned,
    /// notUptodate, notAllCached, dirty, pastEOF.
    public var collapseAborts: [String: UInt64]?
    /// Large folios split into smaller ones.
    public var splits: UInt64?
    /// Large folios readahead created.
    public var readaheadFolios: UInt64?
    /// Folios held compressed at the end.
    public var compressedFolios: Int?
    /// Bytes of file data cached at the end, every folio at its full size.
    public var logicalBytes: Int?
    /// Bytes of memory the cached data took at the end (compressed folios
    /// at their compressed size plus metadata).
    public var residentBytes: Int?
    /// logicalBytes / residentBytes (1 without compression; 0 when nothing
    /// was resident).
    public var effectiveCapacity: Double?
    /// Compressed blocks whose checksum did not match.
    public var checksumFailures: UInt64?
    /// For verifying workloads: "ok" or the first bad page.
    public var verification: String?
    /// The job-file section this result came from (nil without `--job`).
    public var job: String?
    /// `--repeat N` with N > 1: the number of repeats (absent for one run).
    /// Every numeric field above then holds its median over the repeats
    /// (integer fields rounded to the nearest integer); `perThreadOps`,
    /// `threadRoles` and `collapseAborts` come from the median run.
    public var repeats: Int?
    /// With `repeats`: every numeric figure's `repeats`, `median`, `min` and
    /// `max`, keyed by its field name (`opsPerSecond`, `latencyNs.p99`,
    /// `lockWaitNs.max`…; `minOverMaxThreadOps` is derived).
    public var spread: [String: Spread]?
}
