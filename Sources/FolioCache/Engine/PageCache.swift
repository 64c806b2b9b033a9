import CoreMetrics
import FolioLocks
import Logging
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
/// cache and the same file at once. A thread about to add a folio that would
/// take the resident bytes over the budget first evicts folios chosen by the
/// eviction policy (holding none of its own locks), then adds it — evict,
/// then insert, as the reference algorithms do. Reclaim only ever try-locks,
/// skips pinned or busy folios and writes dirty ones back first.
public final class PageCache<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: the strategy, configuration and policy are
    // immutable (and themselves Sendable); the counters are atomic.

    /// The lock strategy every page-state change goes through.
    public let strategy: Strategy
    /// What the cache was built with (validated by the init).
    public let configuration: PageCacheConfiguration
    let policy: any EvictionPolicy
    /// What the access hook does for this policy (inline for SIEVE and
    /// S3-FIFO, a call for LRU).
    @usableFromInline let accessKind: PolicyAccessKind
    /// Whether read hits of the per-page strategies copy without the folio's
    /// lock (`configuration.optimisticReads`; CachedFile+OptimisticRead.swift).
    @usableFromInline let optimisticReads: Bool
    @usableFromInline let residentBytes = Atomic<Int>(0)
    /// The bytes folio data may take: the capacity less the policy's own
    /// memory (S3-FIFO's ghost), never less than one largest folio.
    @usableFromInline let dataBudget: Int
    /// The largest folio order this cache makes (readahead, collapse): the
    /// configured `maxFolioOrder`, lowered so that a folio takes at most an
    /// eighth of the budget (a cache of a few large folios would thrash on
    /// them; a budget of under 16 pages makes only one-page folios).
    @usableFromInline let folioOrder: Int
    /// Whether reclaim keeps cold clean folios compressed
    /// (`configuration.compression.enabled`).
    let compressionEnabled: Bool
    @usableFromInline let counters = CacheCounters()
    let pool: FolioPool
    /// The read-side sections of optimistic read hits (`pool.readers`, which
    /// the pool keeps alive: it frees a buffer only once no section that
    /// could copy from it is open). A plain struct: a hit retains nothing.
    @usableFromInline let bufferReaders: ReaderSlots.Sections
    /// The compressed folios, oldest first (`PageCache+Compression.swift`).
    let tier: CompressedTier
    /// Background writeback, while started (`configuration.writebackInterval`
    /// starts it at init; `startBackgroundWriteback`).
    let writebackWorker = Mutex<BackgroundWorker?>(nil)
    /// Set by `shutdown()`, never cleared (PageCache+Shutdown.swift).
    let shutDownFlag = Atomic<Bool>(false)
    /// One `shutdown()` at a time.
    let shutdownTurn = Mutex<Void>(())
    /// Where the cache logs: debug and trace only, never on a hit
    /// (docs/service.md). Silent unless the host bootstraps swift-log and
    /// lowers the level.
    public let logger: Logger
    /// The cache's metrics, made once here (`exportMetrics()`).
    let metrics: CacheMetrics
    /// Background collapse, while started (`startBackgroundCollapse`).
    let collapser = Mutex<BackgroundWorker?>(nil)
    /// The open files, for background work.
    let openFiles = OpenFiles<Strategy>()
    /// The open files by identity: a second open of one joins its mapping.
    let shared = SharedMappings<Strategy>()
    /// Errors of closing handles that were dropped without `close()`.
    let droppedHandleErrors = Guarded<[FolioError]>([], lockClass: .droppedHandleErrors)
    /// Tests: called by collapse and split with their locks held, after the
    /// new folios got their bytes and before they replace the old ones
    /// (`setReplaceHook`). Nil in use.
    let replaceHook = Guarded<(@Sendable ([Folio], [Folio]) -> Void)?>(nil, lockClass: .replaceHook)
    /// The async API's executor for blocking work (PageCache+IOExecutor.swift).
    let asyncIO = AsyncIOSettings()

    /// A cache. `logger` receives debug and trace messages only (open,
    /// close, background passes, shutdown — never a read or write);
    /// `metrics` says where the cache's counters, gauges and timers go
    /// (default: the bootstrapped `MetricsSystem`, dimension
    /// `strategy`; docs/service.md lists them). Both are silent and cost
    /// nothing on the hit path unless the host bootstraps a backend.
    public init(
        strategy: Strategy, configuration: PageCacheConfiguration = PageCacheConfiguration(),
        logger: Logger = PageCacheLogging.defaultLogger, metrics: PageCacheMetricsOptions = PageCacheMetricsOptions()
    ) throws(FolioError) {
        try configuration.validate()
        self.strategy = strategy
        self.logger = logger
        self.metrics = CacheMetrics(options: metrics, strategy: strategy.kind)
        self.configuration = configuration
        let policy = makeEvictionPolicy(configuration.evictionPolicy, capacity: configuration.capacity, pageSize: configuration.pageSize)
        self.policy = policy
        self.accessKind = PolicyAccessKind(configuration.evictionPolicy)
        self.optimisticReads = configuration.optimisticReads
        let budget = max(configuration.capacity - policy.overheadBytes, configuration.pageSize)
        self.dataBudget = budget
        var order = configuration.maxFolioOrder
        while order > 0 && configuration.pageSize << order > budget / 8 { order -= 1 }
        self.folioOrder = order
        self.compressionEnabled = configuration.compression.enabled
        self.tier = CompressedTier(limit: Int(Double(budget) * configuration.compression.maximumShare))
        self.pool = FolioPool(pageSize: configuration.pageSize, maxOrder: configuration.maxFolioOrder, capacity: configuration.capacity)
        self.bufferReaders = pool.readers.sections
        if let interval = configuration.writebackInterval { try startBackgroundWriteback(interval: interval) }
        // Compression works best on large folios; random access makes them
        // only by collapse, so with compression the collapser runs (every
        // `compression.collapseInterval`; `stopBackgroundCollapse` stops it).
        if compressionEnabled { try startBackgroundCollapse() }
    }

    /// The errors of closing files whose last handle was dropped without
    /// `close()` (the cache closes them then: `CachedFile.deinit`), oldest
    /// first, each returned once. Such a file stays cached with its dirty
    /// pages; opening it again gives a handle to retry with.
    public func takeDroppedHandleErrors() -> [FolioError] {
        droppedHandleErrors.withLock { errors in
            defer { errors.removeAll() }
            return errors
        }
    }

    /// Counters and the resident byte count (a snapshot).
    public var statistics: CacheStatistics {
        var s = CacheStatistics(
            residentBytes: residentBytes.load(ordering: .relaxed),
            residentFolios: policy.count + tier.count,
            evictionOverheadBytes: policy.overheadBytes,
            misses: counters.misses.load(ordering: .relaxed),
            evictions: counters.evictions.load(ordering: .relaxed),
            writebacks: counters.writebacks.load(ordering: .relaxed),
            reclaimSkips: counters.reclaimSkips.load(ordering: .relaxed))
        counters.fillLargeFolioStatistics(&s)
        s.compressedBytes = tier.bytes
        s.optimisticReadRetries = counters.optimisticReadRetries.load(ordering: .relaxed)
        s.metadataBytes = metadataBytes
        s.buffersAwaitingReadersBytes = pool.counts.limboBytes
        fillFileTotals(&s)
        s.logicalBytes = s.residentBytes + counters.compressionSavedBytes.load(ordering: .relaxed)
        return s
    }

    /// Forced eviction: evicts until at most `bytes` are resident or nothing
    /// more can be evicted (pinned or busy folios stay), then gives the free
    /// data buffers the pool kept for reuse back to malloc. Dirty folios are
    /// written back first; a writeback error is kept for that file's next
    /// flush, sync or close, and the folio stays.
    public func shrink(toBytes bytes: Int) {
        reclaim(target: max(0, bytes))
        pool.trim()
    }

    /// Reclaim as memory pressure runs it — evict (or compress) until at
    /// most `bytes` are resident — without `shrink`'s trim of the free
    /// buffers the pool keeps for reuse. For benchmarks of the reclaim path.
    @_spi(FolioInternals) public func reclaim(toBytes bytes: Int) {
        reclaim(target: max(0, bytes))
    }
}

extension PageCache {
    /// The access hook: every path that uses a cached folio — a read hit, a
    /// write to a cached page, a view fault that found the page, a view
    /// access through a mapped entry, a view write — calls this, once per
    /// use. (A miss is an insertion, `policy.insert`, not an access.)
    /// SIEVE's access (set the visited bit if clear) and S3-FIFO's (bump the
    /// 2-bit frequency if below 3) are done inline on the folio's state word,
    /// lock-free, and write nothing once the folio is hot; LRU's is a call
    /// that takes its list lock.
    @inlinable @inline(__always) func recordAccess(_ folio: Folio) {
        switch accessKind {
        case .referencedBit:
            if !folio.flags.contains(.referenced) { folio.setFlags(.referenced) }
        case .frequency:
            folio.bumpAccessFrequency()
        case .call:
            policyAccess(folio)
        }
    }

    /// The access of a policy that needs a call (LRU's list lock).
    @usableFromInline func policyAccess(_ folio: Folio) { policy.access(folio) }
}

/// How a policy's access is done by the engine's access hook.
@usableFromInline
enum PolicyAccessKind: Sendable {
    case referencedBit, frequency, call

    init(_ kind: EvictionPolicyKind) {
        switch kind {
        case .sieve: self = .referencedBit
        case .s3fifo: self = .frequency
        case .lru: self = .call
        }
    }
}

func makeEvictionPolicy(_ kind: EvictionPolicyKind, capacity: Int, pageSize: Int) -> any EvictionPolicy {
    switch kind {
    case .lru: LRUPolicy()
    case .sieve: SievePolicy()
    case .s3fifo: S3FIFOPolicy(capacity: capacity, pageSize: pageSize)
    }
}
