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

    public init(lock: LockStrategyConfiguration = LockStrategyConfiguration(kind: .hybridFair),
                cache: PageCacheConfiguration = PageCacheConfiguration()) {
        self.lock = lock
        self.cache = cache
    }

    /// Largest parking-lot bucket count a configuration may ask for.
    public static let maxWaitTableBuckets = 1 << 20

    public func validate() throws(FolioError) {
        try cache.validate()
        if let buckets = lock.waitTableBuckets {
            guard buckets >= 1, buckets <= Self.maxWaitTableBuckets, buckets & (buckets - 1) == 0 else {
                throw .invalidArgument("waitTableBuckets \(buckets) is not a power of two from 1 to \(Self.maxWaitTableBuckets)")
            }
        }
        guard lock.hybridPolicy.spinLimit >= 0 else {
            throw .invalidArgument("spinLimit \(lock.hybridPolicy.spinLimit) is negative")
        }
    }
}
