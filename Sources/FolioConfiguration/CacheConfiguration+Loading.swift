import FolioCache
import FolioLocks
import Foundation

/// Reading a `CacheConfiguration` from a TOML file and the environment.
///
/// ```toml
/// [lock]
/// strategy = "per-range"
/// [cache]
/// capacity = "256MiB"
/// page-size = "4KiB"
/// ```
///
/// Environment variables override file values key by key
/// (`FOLIO_LOCK_STRATEGY=per-range`, `FOLIO_CACHE_CAPACITY=1GiB`; see
/// `ConfigurationKey.environmentVariable`). Keys not set anywhere keep their
/// defaults. Everything is checked before a value is returned: a file with
/// one bad key yields an error, never a partly applied configuration.
extension CacheConfiguration {
    /// Reads, overrides from `environment`, validates.
    public static func load(
        file path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> CacheConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "no such file"
            throw ConfigurationError(kind: .unreadable, source: path, message: "cannot read the configuration file: \(reason)")
        }
        return try parse(toml: text, source: path, environment: environment)
    }

    /// Parses TOML `text` (named `source` in errors), overrides from
    /// `environment`, validates.
    public static func parse(toml text: String, source: String = "<string>", environment: [String: String] = [:]) throws(ConfigurationError)
        -> CacheConfiguration
    {
        var settings = try TOMLSettings.read(text, source: source)
        settings.merge(environmentSettings(environment)) { _, fromEnvironment in fromEnvironment }
        return try make(SettingsReader(settings: settings), source: source)
    }

    /// The defaults, overridden from `environment` (no file).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError)
        -> CacheConfiguration
    {
        try make(SettingsReader(settings: environmentSettings(environment)), source: "environment")
    }

    static func environmentSettings(_ environment: [String: String]) -> [ConfigurationKey: RawSetting] {
        var settings: [ConfigurationKey: RawSetting] = [:]
        for key in ConfigurationKey.all {
            guard let text = environment[key.environmentVariable] else { continue }
            settings[key] = RawSetting(
                value: .string(text), source: "environment variable \(key.environmentVariable)", line: nil, fromEnvironment: true)
        }
        return settings
    }

    static let maxSpinLimit = 1_000_000
    static let maxUnfairness = 1_000_000
    static let maxSpinnersCap = 1_000_000
    static let maxWaitRange: ClosedRange<Duration> = .microseconds(1) ... .seconds(60)

    /// Every key read, typed and range-checked, then the checks between keys.
    static func make(_ r: SettingsReader, source: String) throws(ConfigurationError) -> CacheConfiguration {
        var c = CacheConfiguration()
        typealias K = ConfigurationKey

        // [lock]
        if let kind = try r.choice(K.lockStrategy, as: LockStrategyKind.self, what: "lock strategy") { c.lock.kind = kind }
        if let n = try r.int(K.spinLimit, in: 0...maxSpinLimit) ?? nil { c.lock.hybridPolicy.spinLimit = n }
        if let n = try r.int(K.unfairness, in: 0...maxUnfairness, keyword: "unbounded") {
            c.lock.hybridPolicy.unfairness = n.map { UInt64($0) } ?? HybridLockPolicy.unbounded
        }
        if let d = try r.duration(K.maxWait, in: maxWaitRange, keyword: "unbounded") { c.lock.hybridPolicy.maxWait = d }
        if let n = try r.int(K.maxSpinners, in: 0...maxSpinnersCap, keyword: "unbounded") { c.lock.hybridPolicy.maxSpinners = n }
        if let b = try r.bool(K.singleWaker) { c.lock.hybridPolicy.singleWaker = b }
        if let b = try r.bool(K.handoffYield) { c.lock.hybridPolicy.yieldOnHandoff = b }
        if let n = try r.int(K.handoffSpin, in: 0...maxSpinLimit) ?? nil { c.lock.hybridPolicy.handoffSpin = n }
        if let n = try r.int(K.restrictSpin, in: 0...maxSpinLimit) ?? nil { c.lock.hybridPolicy.restrictSpin = n }
        if let s = r.setting(K.waitTableBuckets), let n = try r.int(K.waitTableBuckets, in: 1...maxWaitTableBuckets) ?? nil {
            guard n & (n - 1) == 0 else {
                throw r.error(K.waitTableBuckets, s, .invalidValue, "not a power of two; allowed: a power of two from 1 to \(maxWaitTableBuckets)")
            }
            c.lock.waitTableBuckets = n
        }

        // [cache]: page size first, the other sizes are checked against it.
        if let s = r.setting(K.pageSize), let bytes = try r.size(K.pageSize) {
            let p = PageCacheConfiguration.self
            guard bytes >= p.minPageSize, bytes <= p.maxPageSize, bytes & (bytes - 1) == 0 else {
                throw r.error(K.pageSize, s, .invalidValue,
                              "not a power of two from 512B to 64KiB; allowed: 512B, 1KiB, 2KiB, 4KiB, 8KiB, 16KiB, 32KiB, 64KiB")
            }
            c.cache.pageSize = bytes
        }
        if let bytes = try r.size(K.capacity), let s = r.setting(K.capacity) {
            guard bytes >= c.cache.pageSize else {
                throw r.error(K.capacity, s, .invalidValue,
                              "smaller than one page (page-size \(Units.formatSize(c.cache.pageSize))); allowed: one page to 1TiB")
            }
            guard bytes <= PageCacheConfiguration.maxCapacity else {
                throw r.error(K.capacity, s, .invalidValue, "more than 1TiB; allowed: one page to 1TiB")
            }
            c.cache.capacity = bytes
        } else if c.cache.capacity < c.cache.pageSize, let s = r.setting(K.pageSize) {
            throw r.error(K.pageSize, s, .invalidValue, "larger than the default capacity \(Units.formatSize(c.cache.capacity)); set cache.capacity too")
        }
        let maxOrder = PageCacheConfiguration.maxFolioOrder(pageSize: c.cache.pageSize)
        if let s = r.setting(K.maxFolioOrder), let n = try r.int(K.maxFolioOrder, in: 0...64) ?? nil {
            guard n <= maxOrder else {
                throw r.error(K.maxFolioOrder, s, .invalidValue,
                              "too large for page-size \(Units.formatSize(c.cache.pageSize)) (folios of at most 2MiB); allowed: 0 to \(maxOrder)")
            }
            c.cache.maxFolioOrder = n
        }
        if let e = try r.choice(K.eviction, as: EvictionPolicyKind.self, what: "eviction policy") { c.cache.evictionPolicy = e }
        if let n = try r.int(K.faultAroundPages, in: 0...PageCacheConfiguration.maxFaultAroundPages) ?? nil { c.cache.faultAroundPages = n }
        if let b = try r.bool(K.optimisticReads) { c.cache.optimisticReads = b }

        // [compression]
        if let b = try r.bool(K.compressionEnabled) { c.cache.compression.enabled = b }
        if let f = try r.fraction(K.minimumSaving) { c.cache.compression.minimumSaving = f }
        if let f = try r.share(K.maximumShare) { c.cache.compression.maximumShare = f }
        if let b = try r.bool(K.keepCompressedCopy) { c.cache.compression.keepCompressedCopy = b }
        let intervals = CompressionConfiguration.minimumInterval...CompressionConfiguration.maximumInterval
        if let d = try r.duration(K.collapseInterval, in: intervals) ?? nil { c.cache.compression.collapseInterval = d }

        // [writeback]
        let writeback = PageCacheConfiguration.minWritebackInterval...PageCacheConfiguration.maxWritebackInterval
        if let d = try r.duration(K.writebackInterval, in: writeback, keyword: "off") { c.cache.writebackInterval = d }

        // The engine's own check, as a backstop: the checks above cover
        // everything it rejects, so this never fires on a value read here.
        do {
            try c.validate()
        } catch {
            throw ConfigurationError(kind: .invalidValue, source: source, message: error.description)
        }
        return c
    }
}
