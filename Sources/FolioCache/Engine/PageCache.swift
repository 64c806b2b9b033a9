import FolioLocks
import Synchronization

/// An embeddable, file-backed page cache whose every page-state change goes
/// through a lock strategy chosen at build time (`Strategy`, specialized).
///
/// ```swift
/// let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(capacity: 256 << 20))
/// let file = try cache.open(path: "/var/data/blob")
/// try file.write(Array("hello".utf8), at: 0)
/// let bytes = try file.read(count: 5, at: 0)
/// try file.close()
/// ```
///
/// Several files share one byte budget; any number of threads may use the
/// cache and the same file at once. When the resident folio bytes exceed
/// `configuration.capacity`, the thread that pushed them over evicts folios
/// chosen by the eviction policy, after its own operation has released its
/// locks; reclaim only ever try-locks, skips pinned or busy folios and writes
/// dirty ones back first.
public final class PageCache<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: the strategy, configuration and policy are
    // immutable (and themselves Sendable); the counters are atomic.

    public let strategy: Strategy
    public let configuration: PageCacheConfiguration
    @usableFromInline let policy: any EvictionPolicy
    /// The default policy's hit is a flag set on the folio, done inline.
    @usableFromInline let policyIsSieve: Bool
    @usableFromInline let residentBytes = Atomic<Int>(0)
    @usableFromInline let counters = CacheCounters()
    let pool: FolioPool
    /// Background writeback, when `configuration.writebackInterval` is set.
    package let flusher: BackgroundFlusher<Strategy>?

    public init(strategy: Strategy, configuration: PageCacheConfiguration = PageCacheConfiguration()) throws(FolioError) {
        try configuration.validate()
        self.strategy = strategy
        self.configuration = configuration
        self.policy = makeEvictionPolicy(configuration.evictionPolicy)
        self.policyIsSieve = configuration.evictionPolicy == .sieve
        self.pool = FolioPool(byteCount: configuration.pageSize)
        self.flusher = configuration.writebackInterval.map { BackgroundFlusher(interval: $0) }
        flusher?.start { [weak self] in self?.backgroundWritebackPass() }
    }

    /// Opens (by default creating) the file at `path`.
    public func open(path: String, options: POSIXBackend.Options = [.create]) throws(FolioError) -> CachedFile<Strategy> {
        try open(backend: POSIXBackend(path: path, options: options))
    }

    /// Opens a file through any backend (for example `MemoryBackend` in tests).
    public func open(backend: any IOBackend) throws(FolioError) -> CachedFile<Strategy> {
        let size = try backend.size()
        let mapping = Mapping<Strategy>(
            backend: backend, pool: pool, pageSize: configuration.pageSize, initialSize: size,
            pageLock: strategy.makeMappingLock())
        flusher?.register(mapping)
        return CachedFile(cache: self, mapping: mapping)
    }

    /// Counters and the resident byte count (a snapshot).
    public var statistics: CacheStatistics {
        CacheStatistics(
            residentBytes: residentBytes.load(ordering: .relaxed),
            residentFolios: policy.count,
            misses: counters.misses.load(ordering: .relaxed),
            evictions: counters.evictions.load(ordering: .relaxed),
            writebacks: counters.writebacks.load(ordering: .relaxed),
            reclaimSkips: counters.reclaimSkips.load(ordering: .relaxed))
    }

    /// Forced eviction: evicts until at most `bytes` are resident or nothing
    /// more can be evicted (pinned or busy folios stay). Dirty folios are
    /// written back first; a writeback error is kept for that file's next
    /// flush, sync or close, and the folio stays.
    public func shrink(toBytes bytes: Int) {
        reclaim(target: max(0, bytes))
    }
}

/// The cache's counters. Hits are not counted here: a shared counter on the
/// hit path would be the one cache-global write every reader makes.
@usableFromInline
final class CacheCounters: Sendable {
    @usableFromInline let misses = Atomic<UInt64>(0)
    @usableFromInline let evictions = Atomic<UInt64>(0)
    @usableFromInline let writebacks = Atomic<UInt64>(0)
    @usableFromInline let reclaimSkips = Atomic<UInt64>(0)
    @usableFromInline init() {}
}

/// A snapshot of a cache's state.
public struct CacheStatistics: Sendable, Equatable {
    /// Bytes of folio data resident (the quantity the budget bounds).
    public var residentBytes: Int
    /// Folios tracked by the eviction policy.
    public var residentFolios: Int
    /// Pages read from a backend because they were not cached.
    public var misses: UInt64
    /// Folios evicted by reclaim.
    public var evictions: UInt64
    /// Folios written back (by flush, sync, close or reclaim).
    public var writebacks: UInt64
    /// Reclaim candidates skipped because they were busy, pinned or failed writeback.
    public var reclaimSkips: UInt64
}

extension PageCache {
    /// Tells the eviction policy about a hit. SIEVE's hit (set the folio's
    /// `referenced` flag if it is clear) is done inline, with no call.
    @inlinable func recordHit(_ folio: Folio) {
        if policyIsSieve {
            if !folio.flags.contains(.referenced) { folio.setFlags(.referenced) }
        } else {
            policy.access(folio)
        }
    }
}

func makeEvictionPolicy(_ kind: EvictionPolicyKind) -> any EvictionPolicy {
    switch kind {
    case .lru: LRUPolicy()
    case .sieve: SievePolicy()
    }
}
