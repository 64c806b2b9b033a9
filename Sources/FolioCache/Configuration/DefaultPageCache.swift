import FolioLocks

// The build-time choice: a package trait names the strategy `DefaultPageCache`
// uses (`swift build --traits PerRangeLock`, or `traits: ["PerRangeLock"]` on
// a dependent package's `.package(...)` line). With no trait, or with the
// default trait set, it is hybrid-fair. Traits are unified across the package
// graph, so two packages asking for different strategies fail here rather
// than one of them silently getting the other's — except every trait at
// once (`--enable-all-traits`, which is how SwiftPM builds a package for its
// plugins, DocC's symbol graphs included): that names no strategy, so it is
// the default.
#if PerPageBitLock && HybridFairLock && FairLock && BargingLock && PerInodeLock && PerRangeLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = HybridFairLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.hybridFair
#elseif (PerPageBitLock && (HybridFairLock || FairLock || BargingLock || PerInodeLock || PerRangeLock)) || (HybridFairLock && (FairLock || BargingLock || PerInodeLock || PerRangeLock)) || (FairLock && (BargingLock || PerInodeLock || PerRangeLock)) || (BargingLock && (PerInodeLock || PerRangeLock)) || (PerInodeLock && PerRangeLock)
#error("Folio: enable at most one lock trait (PerPageBitLock, HybridFairLock, FairLock, BargingLock, PerInodeLock, PerRangeLock); a dependent package that names one should not also keep .defaults")
#elseif PerPageBitLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = PerPageBitLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.perPageBit
#elseif PerInodeLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = PerInodeLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.perInode
#elseif PerRangeLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = PerRangeLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.perRange
#elseif FairLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = HybridFairLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.fair
#elseif BargingLock
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = HybridFairLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.barging
#else
/// The strategy type chosen at build time by a package trait.
public typealias DefaultLockStrategy = HybridFairLocking
/// The strategy chosen at build time, as a configuration kind.
public let defaultLockStrategyKind = LockStrategyKind.hybridFair
#endif

/// A page cache whose strategy a package trait chose at build time
/// (specialized exactly like a spelled-out `PageCache<Strategy>`).
///
/// ```swift
/// let cache = try DefaultPageCache(configuration: PageCacheConfiguration(capacity: 256 << 20))
/// ```
public typealias DefaultPageCache = PageCache<DefaultLockStrategy>

extension PageCache where Strategy == DefaultLockStrategy {
    /// A cache with the build-time default strategy (its default tunables).
    public convenience init(configuration: PageCacheConfiguration = PageCacheConfiguration()) throws(FolioError) {
        #if PerPageBitLock && HybridFairLock && FairLock && BargingLock && PerInodeLock && PerRangeLock
        let strategy = DefaultLockStrategy()
        #elseif FairLock
        let strategy = HybridFairLocking.fair()
        #elseif BargingLock
        let strategy = HybridFairLocking.barging()
        #else
        let strategy = DefaultLockStrategy()
        #endif
        try self.init(strategy: strategy, configuration: configuration)
    }
}
