/// What a cache is built with. `validate()` rejects anything the engine
/// cannot honour, with a message naming the field, the value and what is
/// allowed. (Configuration files are read and validated, with messages
/// naming the file and key, by the `FolioConfiguration` module.)
public struct PageCacheConfiguration: Sendable, Equatable {
    /// Bytes per page: a power of two from 512 B to 64 KiB.
    public var pageSize: Int
    /// The byte budget for resident folio data. At least one page, at most
    /// `maxCapacity`.
    public var capacity: Int
    /// Which folios leave first when the budget is exceeded (S3-FIFO by
    /// default; docs/eviction.md).
    public var evictionPolicy: EvictionPolicyKind
    /// Views: on a fault, also map up to this many following pages of the
    /// view that are already cached, with trylock only (0: off; at most
    /// `maxFaultAroundPages`).
    public var faultAroundPages: Int
    /// The largest folio order readahead and collapse make: folios of up to
    /// `pageSize << maxFolioOrder` bytes (at most `maxFolioBytes`, and at
    /// most an eighth of the budget: a smaller budget lowers it). Default 4:
    /// 64 KiB with 4 KiB pages. 0: every folio is one page.
    public var maxFolioOrder: Int
    /// Compression of cold large folios (reclaim's first stage) and the
    /// background collapser's interval (`PageCache.startBackgroundCollapse`).
    public var compression: CompressionConfiguration
    /// Background writeback: every interval, a flusher per cache writes back
    /// the dirty pages of its open files (trylock only, so it never waits
    /// behind a user). `nil`: off, dirty pages are written by flush, sync,
    /// close and reclaim only.
    public var writebackInterval: Duration?
    /// Read hits of the per-page strategies (per-page bit, hybrid fair, fair,
    /// barging) copy a cached folio without its lock and validate the copy
    /// against the folio's version, so that readers of one page do not
    /// exclude each other (docs/locking.md, "Optimistic reads"). `false`:
    /// every read hit copies under the folio's lock, taken exclusively (the
    /// design before; kept to measure against). Per-inode and per-range
    /// readers share their lock either way.
    public var optimisticReads: Bool

    /// The smallest page size, in bytes.
    public static let minPageSize = 512
    /// The largest page size, in bytes (64 KiB).
    public static let maxPageSize = 64 * 1024
    /// The most pages `faultAroundPages` may name.
    public static let maxFaultAroundPages = 64
    /// The largest folio, whatever the page size (a PMD-sized huge page).
    public static let maxFolioBytes = 2 << 20
    /// No budget above this is taken to be meant (1 TiB).
    public static let maxCapacity = 1 << 40
    /// The shortest background writeback interval (1 ms).
    public static let minWritebackInterval: Duration = .milliseconds(1)
    /// The longest background writeback interval (one day).
    public static let maxWritebackInterval: Duration = .seconds(86_400)

    /// The largest `maxFolioOrder` allowed with pages of `pageSize` bytes.
    public static func maxFolioOrder(pageSize: Int) -> Int {
        guard pageSize > 0, pageSize <= maxFolioBytes else { return 0 }
        return (maxFolioBytes / pageSize).trailingZeroBitCount
    }

    /// A configuration with the given fields; the defaults are 4 KiB pages, a
    /// 64 MiB budget, S3-FIFO, no fault-around, folios up to order 4,
    /// compression off, no background writeback and optimistic reads on.
    /// Nothing is checked here: `validate()` does (the cache's init calls it).
    public init(
        pageSize: Int = 4096, capacity: Int = 64 << 20, evictionPolicy: EvictionPolicyKind = .s3fifo, faultAroundPages: Int = 0,
        maxFolioOrder: Int = 4, compression: CompressionConfiguration = CompressionConfiguration(), writebackInterval: Duration? = nil,
        optimisticReads: Bool = true
    ) {
        self.pageSize = pageSize
        self.capacity = capacity
        self.evictionPolicy = evictionPolicy
        self.faultAroundPages = faultAroundPages
        self.maxFolioOrder = maxFolioOrder
        self.compression = compression
        self.writebackInterval = writebackInterval
        self.optimisticReads = optimisticReads
    }

    /// Checks every field against the engine's limits: the page size, the
    /// budget (at least one page, at most `maxCapacity`), fault-around,
    /// `maxFolioOrder` (at most `maxFolioOrder(pageSize:)`), compression and
    /// the writeback interval.
    ///
    /// - Throws: `FolioError.invalidArgument` naming the first bad field, its
    ///   value and what is allowed.
    public func validate() throws(FolioError) {
        guard pageSize >= Self.minPageSize, pageSize <= Self.maxPageSize, pageSize & (pageSize - 1) == 0 else {
            throw .invalidArgument("pageSize \(pageSize) is not a power of two from \(Self.minPageSize) to \(Self.maxPageSize)")
        }
        guard capacity >= pageSize else {
            throw .invalidArgument("capacity \(capacity) bytes is smaller than one page (\(pageSize) bytes)")
        }
        guard capacity <= Self.maxCapacity else {
            throw .invalidArgument("capacity \(capacity) bytes is more than \(Self.maxCapacity) (1 TiB)")
        }
        guard faultAroundPages >= 0, faultAroundPages <= Self.maxFaultAroundPages else {
            throw .invalidArgument("faultAroundPages \(faultAroundPages) is not from 0 to \(Self.maxFaultAroundPages)")
        }
        let maxOrder = Self.maxFolioOrder(pageSize: pageSize)
        guard maxFolioOrder >= 0, maxFolioOrder <= maxOrder else {
            throw .invalidArgument(
                "maxFolioOrder \(maxFolioOrder) is not from 0 to \(maxOrder) (folios of at most \(Self.maxFolioBytes) bytes with \(pageSize)-byte pages)")
        }
        try compression.validate()
        if let interval = writebackInterval {
            guard interval >= Self.minWritebackInterval, interval <= Self.maxWritebackInterval else {
                throw .invalidArgument("writebackInterval \(interval) is not from \(Self.minWritebackInterval) to \(Self.maxWritebackInterval)")
            }
        }
    }
}
