import FolioLocks

/// The engine's lock classes for the `DebugLocks` checker (`LockDep`): one per
/// kind of lock, so that an order learned on one file's locks holds for every
/// file's. The lock order they must follow is docs/locking.md's tree. Without
/// the trait each is an empty value that no lock stores.
extension LockClass {
    #if DebugLocks
    /// A file's invalidate lock (per-page strategies: a `ReaderWriterLock`).
    public static let invalidate = LockClass("invalidate")
    /// A file's lock of the per-inode strategy (`ReaderWriterLock`).
    public static let inode = LockClass("inode")
    /// A file's range lock of the per-range strategy (`RangeLock`).
    public static let range = LockClass("range")
    /// A folio's lock (per-page strategies: the bit in its state word).
    public static let folio = LockClass("folio")
    /// A page-table shard's word lock.
    public static let pageTableShard = LockClass("page-table shard")
    /// The folio pool's lock.
    public static let pool = LockClass("pool")
    /// An eviction policy's list lock (LRU, SIEVE, S3-FIFO).
    public static let policy = LockClass("eviction policy")
    /// The compressed tier's FIFO lock.
    public static let compressedTier = LockClass("compressed tier")
    /// A mapping's writeback-error lock.
    public static let writebackError = LockClass("writeback error")
    /// A mapping's compressed-block index.
    public static let compressedBlocks = LockClass("compressed blocks")
    /// The registry of open files (`SharedMappings`).
    public static let openFiles = LockClass("open files")
    /// The cache's list of errors of handles dropped without close.
    public static let droppedHandleErrors = LockClass("dropped-handle errors")
    /// The test hook run before a replace (`PageCache.runReplaceHook`).
    public static let replaceHook = LockClass("replace hook")
    #else
    /// A file's invalidate lock (per-page strategies: a `ReaderWriterLock`).
    @inlinable public static var invalidate: LockClass { LockClass() }
    /// A file's lock of the per-inode strategy (`ReaderWriterLock`).
    @inlinable public static var inode: LockClass { LockClass() }
    /// A file's range lock of the per-range strategy (`RangeLock`).
    @inlinable public static var range: LockClass { LockClass() }
    /// A folio's lock (per-page strategies: the bit in its state word).
    @inlinable public static var folio: LockClass { LockClass() }
    /// A page-table shard's word lock.
    @inlinable public static var pageTableShard: LockClass { LockClass() }
    /// The folio pool's lock.
    @inlinable public static var pool: LockClass { LockClass() }
    /// An eviction policy's list lock (LRU, SIEVE, S3-FIFO).
    @inlinable public static var policy: LockClass { LockClass() }
    /// The compressed tier's FIFO lock.
    @inlinable public static var compressedTier: LockClass { LockClass() }
    /// A mapping's writeback-error lock.
    @inlinable public static var writebackError: LockClass { LockClass() }
    /// A mapping's compressed-block index.
    @inlinable public static var compressedBlocks: LockClass { LockClass() }
    /// The registry of open files (`SharedMappings`).
    @inlinable public static var openFiles: LockClass { LockClass() }
    /// The cache's list of errors of handles dropped without close.
    @inlinable public static var droppedHandleErrors: LockClass { LockClass() }
    /// The test hook run before a replace (`PageCache.runReplaceHook`).
    @inlinable public static var replaceHook: LockClass { LockClass() }
    #endif
}

/// What the per-page strategies tell the checker about a folio lock: its
/// class, its instance (the parking-lot key) and its order — the folio's
/// pages within its file, so that folio locks of one file nest only in
/// ascending index. Empty, and inlined away, without the `DebugLocks` trait.
@usableFromInline
enum FolioLockCheck {
    #if DebugLocks
    @usableFromInline static func order(_ folio: Folio) -> LockDep.Order {
        // (The caller pins or owns the folio: its mapping and pages are stable.)
        let domain = folio.mapping.map { UInt(bitPattern: ObjectIdentifier($0)) } ?? 0
        return LockDep.Order(domain: domain, start: folio.index.rawValue, end: folio.endIndex.rawValue)
    }
    @usableFromInline static func willLock(_ folio: Folio, _ site: LockSite) {
        LockDep.willAcquire(.folio, instance: folio.lockKey, mode: .exclusive, order: order(folio), site: site)
    }
    @usableFromInline static func locked(_ folio: Folio, _ site: LockSite, isTry: Bool) {
        LockDep.acquired(.folio, instance: folio.lockKey, mode: .exclusive, order: order(folio), site: site, isTry: isTry)
    }
    @usableFromInline static func willUnlock(_ folio: Folio, _ site: LockSite) -> Bool {
        LockDep.willRelease(.folio, instance: folio.lockKey, mode: .exclusive, site: site)
    }
    #else
    @inlinable @inline(__always) static func willLock(_ folio: Folio, _ site: LockSite) {}
    @inlinable @inline(__always) static func locked(_ folio: Folio, _ site: LockSite, isTry: Bool) {}
    @inlinable @inline(__always) static func willUnlock(_ folio: Folio, _ site: LockSite) -> Bool { true }
    #endif
}
