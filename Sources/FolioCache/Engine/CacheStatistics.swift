import Synchronization

/// The cache's counters. Hits are not counted here: a shared counter on the
/// hit path would be the one cache-global write every reader makes. They
/// are counted per file, striped (`FileCounters.hits`), and summed over the
/// open files plus `retiredHits` (those of files closed since).
@usableFromInline
final class CacheCounters: Sendable {
    @usableFromInline let misses = Atomic<UInt64>(0)
    @usableFromInline let evictions = Atomic<UInt64>(0)
    @usableFromInline let writebacks = Atomic<UInt64>(0)
    @usableFromInline let reclaimSkips = Atomic<UInt64>(0)
    let collapses = Atomic<UInt64>(0)
    /// Aborted collapses, by reason (`Atomic` is not copyable: no array).
    let abortBusy = Atomic<UInt64>(0)
    let abortPinned = Atomic<UInt64>(0)
    let abortNotUptodate = Atomic<UInt64>(0)
    let abortNotAllCached = Atomic<UInt64>(0)
    let abortDirty = Atomic<UInt64>(0)
    let abortPastEOF = Atomic<UInt64>(0)
    let splits = Atomic<UInt64>(0)
    let readaheadFolios = Atomic<UInt64>(0)
    let compressedFolios = Atomic<Int>(0)
    let compressions = Atomic<UInt64>(0)
    let decompressions = Atomic<UInt64>(0)
    let copiesReused = Atomic<UInt64>(0)
    /// Async API: operations that hopped to the I/O executor, and read
    /// misses served in the caller's task instead.
    let asyncHops = Atomic<UInt64>(0)
    let missesWithoutHop = Atomic<UInt64>(0)
    /// The most resident bytes seen after an insertion or decompression.
    @usableFromInline let peakResidentBytes = Atomic<Int>(0)
    /// Logical bytes less resident bytes (of compressed folios, less the
    /// compressed copies kept beside decompressed ones).
    let compressionSavedBytes = Atomic<Int>(0)
    let checksumFailures = Atomic<UInt64>(0)
    /// Optimistic read hits that found a writer inside or failed their
    /// validation and took the locked path (counted on that path only).
    @usableFromInline let optimisticReadRetries = Atomic<UInt64>(0)
    /// Hits and writeback errors of files closed since the cache was made
    /// (their mappings' counters, added when they closed).
    let retiredHits = Atomic<UInt64>(0)
    let retiredWritebackErrors = Atomic<UInt64>(0)
    /// Errors of closing dropped handles, in all (`takeDroppedHandleErrors`).
    let droppedHandleErrors = Atomic<UInt64>(0)
    @usableFromInline init() {}

    func countAbort(_ reason: CollapseAbort) {
        _ = withAbortCounter(reason) { $0.wrappingAdd(1, ordering: .relaxed) }
    }

    func withAbortCounter<T>(_ reason: CollapseAbort, _ body: (borrowing Atomic<UInt64>) -> T) -> T {
        switch reason {
        case .busy: body(abortBusy)
        case .pinned: body(abortPinned)
        case .notUptodate: body(abortNotUptodate)
        case .notAllCached: body(abortNotAllCached)
        case .dirty: body(abortDirty)
        case .pastEOF: body(abortPastEOF)
        }
    }

    func fillLargeFolioStatistics(_ s: inout CacheStatistics) {
        s.collapses = collapses.load(ordering: .relaxed)
        for reason in CollapseAbort.allCases {
            let n = withAbortCounter(reason) { $0.load(ordering: .relaxed) }
            if n > 0 { s.collapseAborts[reason] = n }
        }
        s.splits = splits.load(ordering: .relaxed)
        s.readaheadFolios = readaheadFolios.load(ordering: .relaxed)
        s.compressedFolios = compressedFolios.load(ordering: .relaxed)
        s.compressions = compressions.load(ordering: .relaxed)
        s.decompressions = decompressions.load(ordering: .relaxed)
        s.copiesReused = copiesReused.load(ordering: .relaxed)
        s.asyncHops = asyncHops.load(ordering: .relaxed)
        s.asyncMissesWithoutHop = missesWithoutHop.load(ordering: .relaxed)
        s.peakResidentBytes = peakResidentBytes.load(ordering: .relaxed)
        s.checksumFailures = checksumFailures.load(ordering: .relaxed)
    }
}

/// Why a collapse of an aligned run of pages into one large folio gave up
/// (it never waits: the first obstacle aborts it).
public enum CollapseAbort: Int, Sendable, CaseIterable, CustomStringConvertible, Codable {
    /// A lock of the run (a page, the file, the range, the invalidate lock)
    /// was held by someone else, or a page was under writeback.
    case busy
    /// A page of the run was pinned by someone else (a reader, a view access).
    case pinned
    /// A page of the run was not uptodate (being filled).
    case notUptodate
    /// Not every page of the run was cached.
    case notAllCached
    /// A page of the run was dirty and dirty pages are not carried (never
    /// today: per-page dirty bits carry them; kept so the reasons are complete).
    case dirty
    /// The run reaches past the end of the file.
    case pastEOF

    /// The case's name (`busy`, `pinned`, `notUptodate`, …).
    public var description: String {
        switch self {
        case .busy: "busy"
        case .pinned: "pinned"
        case .notUptodate: "notUptodate"
        case .notAllCached: "notAllCached"
        case .dirty: "dirty"
        case .pastEOF: "pastEOF"
        }
    }
}

/// A snapshot of a cache's state.
public struct CacheStatistics: Sendable, Equatable {
    /// Bytes of memory the cached data takes: folio buffers, and compressed
    /// folios at their compressed size plus their metadata (with
    /// `evictionOverheadBytes`, the quantity the budget bounds).
    public var residentBytes: Int
    /// Folios cached: tracked by the eviction policy, or compressed (in the
    /// compressed tier).
    public var residentFolios: Int
    /// Memory the eviction policy holds of its own (S3-FIFO's ghost of
    /// evicted keys), charged to the budget; 0 for SIEVE and LRU.
    public var evictionOverheadBytes: Int
    /// Pages read from a backend because they were not cached (one per
    /// read, whatever the size of the folio it filled).
    public var misses: UInt64
    /// Folios evicted by reclaim.
    public var evictions: UInt64
    /// Pages `read` found cached, each page of a read once, over every file
    /// the cache has had open (`CachedFile.fileStatistics` per file). A
    /// snapshot while files close may count one file's hits twice or not.
    public var hits: UInt64 = 0
    /// Writeback and fsync failures recorded against files (each is also
    /// reported to the files' handles).
    public var writebackErrors: UInt64 = 0
    /// Folios written back (by flush, sync, close or reclaim).
    public var writebacks: UInt64
    /// Reclaim candidates skipped because they were busy, pinned or failed writeback.
    public var reclaimSkips: UInt64
    /// Runs of pages merged into one large folio.
    public var collapses: UInt64 = 0
    /// Collapses given up, by reason.
    public var collapseAborts: [CollapseAbort: UInt64] = [:]
    /// Large folios split into smaller ones (truncate through one, reclaim).
    public var splits: UInt64 = 0
    /// Large folios created by readahead (a miss in a sequential stream).
    public var readaheadFolios: UInt64 = 0
    /// Folios held compressed now.
    public var compressedFolios: Int = 0
    /// Resident bytes of the compressed folios (at most
    /// `compression.maximumShare` of the budget, give or take a folio).
    public var compressedBytes: Int = 0
    /// Folios reclaim compressed (kept compressed instead of evicted), in all.
    public var compressions: UInt64 = 0
    /// Compressed folios decompressed because a page of theirs was used.
    public var decompressions: UInt64 = 0
    /// Folios reclaim made compressed again from the copy they kept
    /// (`compression.keepCompressedCopy`), without compressing.
    public var copiesReused: UInt64 = 0
    /// Bytes of file data cached, every folio counted at its full size
    /// (equal to `residentBytes` without compression).
    public var logicalBytes: Int = 0
    /// Compressed blocks whose checksum did not match (each dropped and
    /// re-read from the file, or reported).
    public var checksumFailures: UInt64 = 0
    /// Optimistic read hits (per-page strategies) that a writer, a truncate,
    /// an eviction, a collapse or a split overlapped: their copy was thrown
    /// away and the read took the folio's lock instead.
    public var optimisticReadRetries: UInt64 = 0

    /// Async API calls that hopped to the I/O executor (`PageCache.ioExecutor`):
    /// misses, waits that cannot suspend, flush, sync, truncate, close.
    public var asyncHops: UInt64 = 0
    /// Async read misses served in the caller's task without a hop: the
    /// backend had the bytes in memory (a POSIX file's pages in the OS page
    /// cache) and nothing else waited (docs/async.md). Also counted in `misses`.
    public var asyncMissesWithoutHop: UInt64 = 0

    /// The most `residentBytes` reached since the cache was made (sampled
    /// after every insertion and decompression): how far concurrent misses
    /// took the cache over its budget.
    public var peakResidentBytes: Int = 0

    /// Memory spent on describing the data, not charged to the budget:
    /// folio headers (every one made: they are reused, never freed while
    /// the cache lives), page-table slots, the index of compressed blocks.
    public var metadataBytes: Int = 0

    /// Data buffers the cache has let go of but not yet returned to malloc:
    /// an optimistic read hit may still be copying from them (`FolioPool`,
    /// "limbo"). Freed at the next pool operation after such readers have
    /// left — normally within one; not charged to the budget.
    public var buffersAwaitingReadersBytes: Int = 0

    /// Logical bytes per resident byte (1 without compression; 0 when empty).
    public var effectiveCapacity: Double {
        residentBytes == 0 ? 0 : Double(logicalBytes) / Double(residentBytes)
    }

    /// Logical bytes per byte of memory, metadata included.
    public var effectiveCapacityWithMetadata: Double {
        residentBytes == 0 ? 0 : Double(logicalBytes) / Double(residentBytes + metadataBytes)
    }

    /// Metadata per cached (logical) byte.
    public var metadataPerByte: Double {
        logicalBytes == 0 ? 0 : Double(metadataBytes) / Double(logicalBytes)
    }

    /// A snapshot with the given values; the other counters are zero.
    public init(
        residentBytes: Int, residentFolios: Int, evictionOverheadBytes: Int, misses: UInt64, evictions: UInt64,
        writebacks: UInt64, reclaimSkips: UInt64
    ) {
        self.residentBytes = residentBytes
        self.residentFolios = residentFolios
        self.evictionOverheadBytes = evictionOverheadBytes
        self.misses = misses
        self.evictions = evictions
        self.writebacks = writebacks
        self.reclaimSkips = reclaimSkips
    }
}
