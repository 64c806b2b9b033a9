import FolioLocks
import Logging
import Synchronization

/// An open file of a `PageCache`: positional reads and writes through the
/// cache, size, truncate, flush (write back dirty pages), sync (flush +
/// fsync) and close (flush, then release).
///
/// All methods may be called from any number of threads at once. Offsets and
/// lengths are bytes; reads and writes may be unaligned, span pages, and (for
/// writes) go past the end of the file, leaving a hole that reads as zeros.
/// Errors are thrown as `FolioError`, naming the file and offset; a failed
/// operation leaves the file as it was (a failed read caches nothing, a failed
/// truncate truncates nothing, a failed writeback keeps the data dirty).
///
/// Atomicity: each page's part of a read or write happens under that page's
/// lock, so a read never sees half of a concurrent write *within a page*. A
/// multi-page read or write is not atomic as a whole (as with POSIX files on
/// Linux).
public final class CachedFile<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: immutable references; all shared state lives in the
    // mapping (atomics, locks) and the cache.

    /// The cache the file is open in (kept alive by the handle).
    public let cache: PageCache<Strategy>
    @usableFromInline let mapping: Mapping<Strategy>
    /// The cache's strategy, copied once: a stored `let` is borrowed in place
    /// by every lock call, where a computed property would copy the strategy
    /// (retaining its shared parking lot and statistics objects) on every
    /// call — measured as 85 % of a cache hit's time with two threads.
    @usableFromInline let strategy: Strategy
    /// This handle was closed (the mapping may stay open for other handles
    /// of the same file).
    @usableFromInline let handleClosed = Atomic<Bool>(false)
    /// A `close()` of this handle is running.
    let handleClosing = Atomic<Bool>(false)
    /// The file's writeback errors this handle has reported (or that came
    /// before it was opened): it reports each later one once.
    let seenErrors: Atomic<UInt64>

    /// Whether this is a user's handle from `open` (counted; its deinit
    /// lets go or closes), not the engine's own temporary one (background
    /// collapse, reclaim's split).
    let isHandle: Bool
    /// Whether this handle may change the file (`open`'s mode). A
    /// `.readOnly` handle's writes, truncates, discards and read-write maps
    /// throw `FolioError.readOnlyFile` (`checkWritable`).
    public let mode: FileAccessMode

    init(cache: PageCache<Strategy>, mapping: Mapping<Strategy>, isHandle: Bool, mode: FileAccessMode = .readWrite) {
        self.cache = cache
        self.mapping = mapping
        self.strategy = cache.strategy
        self.isHandle = isHandle
        self.mode = mode
        self.seenErrors = Atomic(mapping.currentErrorSequence)
    }

    /// A handle dropped without `close()`: if other handles of its file
    /// remain, it lets go of its share. The last one is closed here — its
    /// dirty pages written back, its pages dropped, its backend closed — so
    /// that no write is lost silently; an error is kept for
    /// `PageCache.takeDroppedHandleErrors()`, and the file then stays cached
    /// with its dirty pages (a later open of the same file joins it and can
    /// retry: `flush`, `sync`, `close`).
    deinit {
        guard isHandle, !handleClosed.load(ordering: .acquiring) else { return }
        let identity = mapping.backend.identity
        if cache.shared.release(mapping, identity) { return }
        _ = cache.shared.beginClose(mapping, identity)
        do throws(FolioError) {
            let closeError = try closeMapping()
            cache.shared.finishClose(mapping, identity, closed: true)
            if let closeError { cache.recordDroppedHandleError(closeError, path: path) }
            cache.logger.debug("closed a dropped handle's file", metadata: ["folio.path": "\(path)"])
        } catch {
            cache.recordDroppedHandleError(error, path: path)
            cache.shared.abandon(mapping, identity)
        }
    }

    /// The file's name (its path, or the backend's label).
    public var path: String { mapping.path }
    @inlinable var pageSize: Int { mapping.pageSize }

    /// The logical size in bytes (including data not yet written back).
    public func size() throws(FolioError) -> Int64 {
        try checkOpen()
        return mapping.size.load(ordering: .acquiring)
    }

    /// Whether `close()` of this handle has completed.
    public var isClosed: Bool { handleClosed.load(ordering: .acquiring) || mapping.isClosed.load(ordering: .acquiring) }

    /// Statistics of the cache this file belongs to.
    public var statistics: CacheStatistics { cache.statistics }

    @inlinable func checkOpen() throws(FolioError) {
        if handleClosed.load(ordering: .acquiring) || mapping.isClosed.load(ordering: .acquiring) { throw closedError() }
    }

    /// `.shutDown` once the cache shut down (and closed this file), else
    /// `.closed` (off the fast path).
    @usableFromInline func closedError() -> FolioError {
        cache.isShutDown ? .shutDown : .closed(path: path)
    }

    /// Throws `readOnlyFile` if this handle was opened `.readOnly`: every
    /// operation that changes the file calls this first.
    @inlinable func checkWritable(_ operation: String) throws(FolioError) {
        if mode == .readOnly { throw .readOnlyFile(path: path, operation: operation) }
    }

    /// Checks a byte range given by a caller; returns its end.
    @usableFromInline func checkRange(_ operation: String, offset: Int64, count: Int) throws(FolioError) -> Int64 {
        guard offset >= 0 else { throw .invalidArgument("\(operation) of '\(path)': offset \(offset) is negative") }
        guard count >= 0 else { throw .invalidArgument("\(operation) of '\(path)': length \(count) is negative") }
        let (end, overflow) = offset.addingReportingOverflow(Int64(count))
        guard !overflow, end <= Int64.max >> 1 else {
            throw .invalidArgument("\(operation) of '\(path)': offset \(offset) + length \(count) overflows")
        }
        return end
    }

    @inlinable func pageIndex(of offset: Int64) -> PageIndex { PageIndex(UInt64(offset) >> UInt64(mapping.pageShift)) }
    @inlinable func onePage(_ i: PageIndex) -> Range<PageIndex> { i..<i.advanced(by: 1) }

    /// Runs `body` with the locks of a path that may insert page `index`:
    /// the invalidate lock shared (a concurrent truncate must not miss the
    /// insert), then the page exclusively; checks the file is still open
    /// under them.
    @usableFromInline
    func withInsertLocks<T>(_ index: PageIndex, _ body: () throws(FolioError) -> T) throws(FolioError) -> T {
        strategy.lockInvalidate(.shared, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        let pagesGuard = strategy.lockPages(onePage(index), .exclusive, in: mapping.pageLock)
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        try checkOpen()
        return try body()
    }
}
