/// Everything a user tunes, in one value: the lock strategy with its
/// tunables, and the cache's sizes and policies.
///
/// Made by hand, by `FolioConfiguration` from a TOML file and the
/// environment, or at build time by the `FolioConfigPlugin` (a generated
/// constant). `validate()` checks both parts; the `FolioConfiguration` module
/// checks the same rules earlier, with messages naming the file and the key.
public struct CacheConfiguration: Sendable, Equatable {
    /// The lock strategy and its tunables.
    public var lock: LockStrategyConfiguration
    /// Page size, capacity, eviction, writeback, fault-around, folio order,
    /// compression.
    public var cache: PageCacheConfiguration

    /// A configuration of `lock` (hybrid-fair by default) and `cache` (the
    /// engine's defaults).
    public init(lock: LockStrategyConfiguration = LockStrategyConfiguration(kind: .hybridFair),
                cache: PageCacheConfiguration = PageCacheConfiguration()) {
        self.lock = lock
        self.cache = cache
    }

    /// Largest parking-lot bucket count a configuration may ask for.
    public static var maxWaitTableBuckets: Int { LockStrategyConfiguration.maxWaitTableBuckets }

    /// Validates the cache part, then the lock part.
    ///
    /// - Throws: `FolioError.invalidArgument` naming the first bad value
    ///   (`PageCacheConfiguration.validate()`, `LockStrategyConfiguration.validate()`).
    public func validate() throws(FolioError) {
        try cache.validate()
        try lock.validate()
    }
}
