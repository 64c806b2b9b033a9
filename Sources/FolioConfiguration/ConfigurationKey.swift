/// One key of the configuration schema: a TOML table and a key in it. Its
/// environment variable is `FOLIO_<TABLE>_<KEY>` in upper case with `-` as
/// `_` (`lock.strategy` → `FOLIO_LOCK_STRATEGY`).
public struct ConfigurationKey: Sendable, Hashable, CustomStringConvertible {
    public let table: String
    public let name: String

    public init(_ table: String, _ name: String) {
        self.table = table
        self.name = name
    }

    /// The dotted spelling used in messages and docs: `lock.strategy`.
    public var description: String { "\(table).\(name)" }

    public var environmentVariable: String {
        "FOLIO_" + String("\(table)_\(name)".uppercased().map { $0 == "-" ? "_" : $0 })
    }

    public static let lockStrategy = ConfigurationKey("lock", "strategy")
    public static let spinLimit = ConfigurationKey("lock", "spin-limit")
    public static let unfairness = ConfigurationKey("lock", "unfairness")
    public static let maxWait = ConfigurationKey("lock", "max-wait")
    public static let maxSpinners = ConfigurationKey("lock", "max-spinners")
    public static let singleWaker = ConfigurationKey("lock", "single-waker")
    public static let handoffYield = ConfigurationKey("lock", "handoff-yield")
    public static let handoffSpin = ConfigurationKey("lock", "handoff-spin")
    public static let waitTableBuckets = ConfigurationKey("lock", "wait-table-buckets")
    public static let capacity = ConfigurationKey("cache", "capacity")
    public static let pageSize = ConfigurationKey("cache", "page-size")
    public static let maxFolioOrder = ConfigurationKey("cache", "max-folio-order")
    public static let eviction = ConfigurationKey("cache", "eviction")
    public static let faultAroundPages = ConfigurationKey("cache", "fault-around-pages")
    public static let optimisticReads = ConfigurationKey("cache", "optimistic-reads")
    public static let compressionEnabled = ConfigurationKey("compression", "enabled")
    public static let minimumSaving = ConfigurationKey("compression", "min-saving")
    public static let maximumShare = ConfigurationKey("compression", "max-share")
    public static let keepCompressedCopy = ConfigurationKey("compression", "keep-compressed-copy")
    public static let collapseInterval = ConfigurationKey("compression", "collapse-interval")
    public static let writebackInterval = ConfigurationKey("writeback", "interval")

    /// Every key, in documentation order.
    public static let all: [ConfigurationKey] = [
        lockStrategy, spinLimit, unfairness, maxWait, maxSpinners, singleWaker, handoffYield, handoffSpin, waitTableBuckets,
        capacity, pageSize, maxFolioOrder, eviction, faultAroundPages, optimisticReads,
        compressionEnabled, minimumSaving, maximumShare, keepCompressedCopy, collapseInterval,
        writebackInterval,
    ]

    /// The tables, in documentation order.
    public static let tables = ["lock", "cache", "compression", "writeback"]

    static func keys(in table: String) -> [ConfigurationKey] { all.filter { $0.table == table } }
}
