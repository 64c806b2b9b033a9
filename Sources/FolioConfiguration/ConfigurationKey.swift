/// One key of the configuration schema: a TOML table and a key in it. Its
/// environment variable is `FOLIO_<TABLE>_<KEY>` in upper case with `-` as
/// `_` (`lock.strategy` → `FOLIO_LOCK_STRATEGY`).
public struct ConfigurationKey: Sendable, Hashable, CustomStringConvertible {
    /// The TOML table (`lock`, `cache`, `compression`, `writeback`).
    public let table: String
    /// The key within the table (`strategy`, `page-size`, …).
    public let name: String

    /// The key `name` of table `table`.
    public init(_ table: String, _ name: String) {
        self.table = table
        self.name = name
    }

    /// The dotted spelling used in messages and docs: `lock.strategy`.
    public var description: String { "\(table).\(name)" }

    /// The environment variable that overrides the key: `FOLIO_<TABLE>_<KEY>`
    /// in upper case with `-` as `_`.
    public var environmentVariable: String {
        "FOLIO_" + String("\(table)_\(name)".uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// `lock.strategy`: the strategy or preset (`LockStrategyConfiguration.kind`).
    public static let lockStrategy = ConfigurationKey("lock", "strategy")
    /// `lock.spin-limit`: the hybrid policy's `spinLimit`.
    public static let spinLimit = ConfigurationKey("lock", "spin-limit")
    /// `lock.unfairness`: the hybrid policy's `unfairness` (`unbounded` allowed).
    public static let unfairness = ConfigurationKey("lock", "unfairness")
    /// `lock.max-wait`: the hybrid policy's `maxWait`, a duration (`unbounded` allowed).
    public static let maxWait = ConfigurationKey("lock", "max-wait")
    /// `lock.max-spinners`: the hybrid policy's `maxSpinners` (`unbounded` allowed).
    public static let maxSpinners = ConfigurationKey("lock", "max-spinners")
    /// `lock.single-waker`: the hybrid policy's `singleWaker`.
    public static let singleWaker = ConfigurationKey("lock", "single-waker")
    /// `lock.handoff-yield`: the hybrid policy's `yieldOnHandoff`.
    public static let handoffYield = ConfigurationKey("lock", "handoff-yield")
    /// `lock.handoff-spin`: the hybrid policy's `handoffSpin`.
    public static let handoffSpin = ConfigurationKey("lock", "handoff-spin")
    /// `lock.restrict-spin`: the hybrid policy's `restrictSpin` (concurrency restriction; 0 off).
    public static let restrictSpin = ConfigurationKey("lock", "restrict-spin")
    /// `lock.wait-table-buckets`: the parking lot's bucket count, a power of two (`LockStrategyConfiguration.waitTableBuckets`).
    public static let waitTableBuckets = ConfigurationKey("lock", "wait-table-buckets")
    /// `cache.capacity`: the byte budget, a size (`PageCacheConfiguration.capacity`).
    public static let capacity = ConfigurationKey("cache", "capacity")
    /// `cache.page-size`: bytes per page, a size (`PageCacheConfiguration.pageSize`).
    public static let pageSize = ConfigurationKey("cache", "page-size")
    /// `cache.max-folio-order`: `PageCacheConfiguration.maxFolioOrder`.
    public static let maxFolioOrder = ConfigurationKey("cache", "max-folio-order")
    /// `cache.eviction`: the eviction policy (`PageCacheConfiguration.evictionPolicy`).
    public static let eviction = ConfigurationKey("cache", "eviction")
    /// `cache.fault-around-pages`: `PageCacheConfiguration.faultAroundPages`.
    public static let faultAroundPages = ConfigurationKey("cache", "fault-around-pages")
    /// `cache.optimistic-reads`: `PageCacheConfiguration.optimisticReads`.
    public static let optimisticReads = ConfigurationKey("cache", "optimistic-reads")
    /// `compression.enabled`: `CompressionConfiguration.enabled`.
    public static let compressionEnabled = ConfigurationKey("compression", "enabled")
    /// `compression.min-saving`: `CompressionConfiguration.minimumSaving`, a fraction.
    public static let minimumSaving = ConfigurationKey("compression", "min-saving")
    /// `compression.max-share`: `CompressionConfiguration.maximumShare`, a share of the budget.
    public static let maximumShare = ConfigurationKey("compression", "max-share")
    /// `compression.keep-compressed-copy`: `CompressionConfiguration.keepCompressedCopy`.
    public static let keepCompressedCopy = ConfigurationKey("compression", "keep-compressed-copy")
    /// `compression.collapse-interval`: `CompressionConfiguration.collapseInterval`, a duration.
    public static let collapseInterval = ConfigurationKey("compression", "collapse-interval")
    /// `writeback.interval`: `PageCacheConfiguration.writebackInterval`, a duration (`off` allowed).
    public static let writebackInterval = ConfigurationKey("writeback", "interval")

    /// Every key, in documentation order.
    public static let all: [ConfigurationKey] = [
        lockStrategy, spinLimit, unfairness, maxWait, maxSpinners, singleWaker, handoffYield, handoffSpin, restrictSpin, waitTableBuckets,
        capacity, pageSize, maxFolioOrder, eviction, faultAroundPages, optimisticReads,
        compressionEnabled, minimumSaving, maximumShare, keepCompressedCopy, collapseInterval,
        writebackInterval,
    ]

    /// The tables, in documentation order.
    public static let tables = ["lock", "cache", "compression", "writeback"]

    static func keys(in table: String) -> [ConfigurationKey] { all.filter { $0.table == table } }
}
