/// The JSON document `folio-load run --format json` writes (schema version 1,
/// documented in docs/load-testing.md). Field names are part of the stable
/// surface: add fields, never rename or remove them without bumping
/// `schemaVersion`.
public struct LoadReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

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
    /// Large folios: nil until this build of Folio has collapse, compression
    /// and split.
    public var collapses: UInt64?
    public var splits: UInt64?
    public var bytesSaved: UInt64?
    /// For verifying workloads: "ok" or the first bad page.
    public var verification: String?
    /// The job-file section this result came from (nil without `--job`).
    public var job: String?
}
