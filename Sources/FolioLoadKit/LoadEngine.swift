import FolioCache
import FolioLocks

/// One engine under test (a Folio cache with some strategy, or a baseline)
/// over a set of files of the same size. Threads work through sessions.
///
/// The runner's thread loop is generic over the engine (and its session
/// type) and is entered with the concrete engine type — for Folio from
/// inside `LockStrategyConfiguration.visit` — so the whole path, down to the
/// cache's lock calls, is specialized: no existential or unspecialized
/// generic code on the measured path.
protocol LoadEngine: AnyObject, Sendable {
    associatedtype Session: LoadSession
    var spec: EngineSpec { get }
    var pageSize: Int { get }
    /// A per-thread handle (views, buffers).
    func makeSession() throws(LoadError) -> Session
    /// Counters since the last reset.
    func counters() -> EngineCounters
    /// Starts a measurement (after warm-up).
    func resetCounters()
    /// Writes back whatever the engine holds dirty and drops its cached
    /// pages, so that the next read comes from the file (verification).
    func dropCache() throws(LoadError)
    /// Flushes and closes everything.
    func shutDown() throws(LoadError)
}

/// What a thread does to the files. `file` indexes the engine's files.
protocol LoadSession: AnyObject {
    /// Reads one page.
    func read(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError)
    /// Writes one page (or `buffer.count` bytes at the page's start).
    func write(file: Int, page: Int, from buffer: UnsafeRawBufferPointer) throws(LoadError)
    /// Writes 8 bytes at `offset` of a page through this thread's view of
    /// the file (every view write runs the fault path).
    func faultWrite(file: Int, page: Int, offset: Int, value: UInt64) throws(LoadError)
    /// Maps the first `mapPages` pages of the file, reads page `page` through
    /// the view, unmaps: one request of the shared-file case. False if the
    /// page lies past EOF.
    func mapRead(file: Int, mapPages: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool
    /// Reads page `page` through this thread's long-lived view of the file
    /// (its entries reused from access to access, fault-around included).
    /// False if the page lies past EOF.
    func viewRead(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool
    /// Whether a plain read of a page is atomic against a concurrent write
    /// of it (one version, never a mix).
    var pageReadsAreAtomic: Bool { get }
    /// Reads one page with a plain read; false unless a whole page was read
    /// (the page lies past EOF, or EOF moved into it during the read).
    func readPage(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool
    /// Collapses what can be collapsed in the file (`CachedFile.compact()`);
    /// false for an engine that has no collapse (the baselines).
    func compact(file: Int) throws(LoadError) -> Bool
    /// Truncates the file to `pages` pages.
    func truncate(file: Int, pages: Int) throws(LoadError)
    /// The file's size in pages (rounded down).
    func sizePages(file: Int) throws(LoadError) -> Int
}

/// Engine counters for one measurement.
struct EngineCounters {
    /// Pages read from the file because they were not cached (nil: the
    /// engine cannot tell, e.g. the kernel page cache).
    var misses: UInt64?
    var evictions: UInt64?
    /// Lock slow-path statistics (nil for the baselines).
    var lock: LockStatistics.Snapshot?
    var lockWaits: WaitHistogram.Snapshot?
    /// Large folios and compression (nil for the baselines).
    var largeFolios: LargeFolioCounters? = nil
}

/// `CacheStatistics`' large-folio and compression numbers for one
/// measurement: the counters are deltas over the measured phase (like
/// `misses`); the folio and byte counts are values at its end.
struct LargeFolioCounters: Equatable {
    var collapses: UInt64
    /// Every reason, zeros included.
    var collapseAborts: [CollapseAbort: UInt64]
    var splits: UInt64
    var readaheadFolios: UInt64
    var checksumFailures: UInt64
    var compressedFolios: Int
    var logicalBytes: Int
    var residentBytes: Int
    /// Logical per resident byte (`CacheStatistics.effectiveCapacity`: 0
    /// when nothing is resident).
    var effectiveCapacity: Double

    /// `now`'s counters less `base`'s; `now`'s values.
    init(_ now: CacheStatistics, since base: CacheStatistics) {
        collapses = now.collapses &- base.collapses
        var aborts: [CollapseAbort: UInt64] = [:]
        for reason in CollapseAbort.allCases {
            aborts[reason] = (now.collapseAborts[reason] ?? 0) &- (base.collapseAborts[reason] ?? 0)
        }
        collapseAborts = aborts
        splits = now.splits &- base.splits
        readaheadFolios = now.readaheadFolios &- base.readaheadFolios
        checksumFailures = now.checksumFailures &- base.checksumFailures
        compressedFolios = now.compressedFolios
        logicalBytes = now.logicalBytes
        residentBytes = now.residentBytes
        effectiveCapacity = now.effectiveCapacity
    }
}
