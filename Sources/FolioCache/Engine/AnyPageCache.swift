import FolioLocks
import Synchronization
import SystemPackage

/// The operations of an open file, for code that does not know the cache's
/// strategy type (a cache chosen at run time). `CachedFile<Strategy>` is the
/// only conformer; calls through this protocol run the same, specialized
/// engine code.
///
/// Generic code may take `some CachedFileProtocol` (or `<F: CachedFileProtocol>`):
/// a `CachedFile<Strategy>` specializes it; a file of a cache chosen at run
/// time is an `AnyCachedFile`, itself a conformer, so it can be stored where
/// a generic parameter names the type (`Store<AnyCachedFile>`).
public protocol CachedFileProtocol: AnyObject, Sendable {
    /// The file's name (its path, or the backend's label).
    var path: String { get }
    /// Whether `close()` of this handle has completed.
    var isClosed: Bool { get }
    /// Whether this handle may change the file (`open`'s mode).
    var mode: FileAccessMode { get }
    /// Statistics of the cache this file belongs to (a snapshot).
    var statistics: CacheStatistics { get }
    /// This file's own counters, shared by all its handles (a snapshot).
    var fileStatistics: FileStatistics { get }
    /// Reads up to `buffer.count` bytes at `offset` into `buffer`
    /// (`CachedFile.read(into:at:)`).
    ///
    /// - Returns: How many bytes were read: fewer only at end of file, 0 at or past it.
    /// - Throws: `FolioError`, naming the file and offset, if the handle is
    ///   closed (`.shutDown` once the cache is), the range is invalid or the
    ///   backend's read fails.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int
    /// Reads up to `count` bytes at `offset` (`CachedFile.read(count:at:)`).
    ///
    /// - Returns: The bytes read: fewer at end of file, none at or past it.
    /// - Throws: `FolioError`, naming the file and offset, if the handle is
    ///   closed (`.shutDown` once the cache is), the range is invalid or the
    ///   backend's read fails.
    func read(count: Int, at offset: Int64) throws(FolioError) -> [UInt8]
    /// Writes all of `bytes` at `offset` into the cache, dirty, extending the
    /// file if they end past it (`CachedFile.write(_:at:)`).
    ///
    /// - Throws: `FolioError` if the handle is closed or read-only, the range
    ///   is invalid, or reading in a partly covered page fails.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError)
    /// Writes all of `bytes` at `offset` (the array form of the buffer write).
    ///
    /// - Throws: `FolioError` if the handle is closed or read-only, the range
    ///   is invalid, or reading in a partly covered page fails.
    func write(_ bytes: [UInt8], at offset: Int64) throws(FolioError)
    /// The logical size in bytes, including data not yet written back.
    ///
    /// - Throws: `FolioError` if the handle is closed.
    func size() throws(FolioError) -> Int64
    /// Sets the file's size: shrinking drops the cached pages past the new
    /// end (dirty ones too), growing makes the new range read as zeros
    /// (`CachedFile.truncate(to:)`).
    ///
    /// - Throws: `FolioError` if the handle is closed or read-only, the size
    ///   is negative or too large, or the backend's resize fails (then
    ///   nothing changed).
    func truncate(to newSize: Int64) throws(FolioError)
    /// Writes every page dirtied before the call back to the file
    /// (`CachedFile.flush()`).
    ///
    /// - Throws: The latest writeback error of the file this handle has not
    ///   reported yet; pages that failed stay dirty.
    func flush() throws(FolioError)
    /// Flushes, then makes the file durable (fsync) (`CachedFile.sync()`).
    ///
    /// - Throws: A writeback error not reported yet, or the fsync's error.
    func sync() throws(FolioError)
    /// Syncs, then releases this handle — and, for the file's last handle,
    /// the file and its cached pages (`CachedFile.close()`). Closing a
    /// closed handle does nothing.
    ///
    /// - Throws: A writeback or fsync error (the file then stays open with its
    ///   dirty data), or the final close(2)'s error (the file is closed anyway).
    func close() throws(FolioError)
    /// Drops every change not written back (`CachedFile.discardUnwrittenChanges`).
    func discardUnwrittenChanges() throws(FolioError)
    /// Merges aligned runs of cached pages into large folios (`CachedFile.compact`).
    @discardableResult func compact() throws(FolioError) -> CompactionReport
    /// Maps a view; `map(_:mode:faultAround:)` is the spelling to call.
    func makeView(_ range: Range<Int64>, mode: ViewMode, faultAround: Int?) throws(FolioError) -> any FileViewProtocol
    /// The type of this file's async API.
    associatedtype AsyncFile: AsyncCachedFileProtocol
    /// This file's async API (docs/async.md): `try await file.async.read(count:at:)`.
    var async: AsyncFile { get }
}

extension CachedFile: CachedFileProtocol {
    /// Maps `range` (`map(_:mode:faultAround:)`), as an existential view.
    public func makeView(_ range: Range<Int64>, mode: ViewMode, faultAround: Int?) throws(FolioError) -> any FileViewProtocol {
        try map(range, mode: mode, faultAround: faultAround)
    }
}

/// The operations of a cache, independent of its strategy type.
public protocol PageCacheProtocol: AnyObject, Sendable {
    /// What the cache was built with.
    var configuration: PageCacheConfiguration { get }
    /// Which lock strategy (or hybrid preset) the cache runs.
    var strategyKind: LockStrategyKind { get }
    /// The strategy's slow-path lock counters.
    var lockStatistics: LockStatistics { get }
    /// Counters and the resident byte count (a snapshot).
    var statistics: CacheStatistics { get }
    /// Opens the file at `path` (`PageCache.open(path:_:options:permissions:)`),
    /// returning the strategy's specialized `CachedFile` as an existential.
    ///
    /// - Throws: `FolioError` if the cache is shut down, the arguments do not
    ///   combine, or the open fails.
    func openFile(path: String, mode: FileAccessMode, options: OpenOptions, permissions: FilePermissions) throws(FolioError) -> any CachedFileProtocol
    /// Opens a file through `backend` (`PageCache.open(backend:mode:)`); a nil
    /// `mode` takes the backend's.
    ///
    /// - Throws: `FolioError` if the cache is shut down or `mode` asks for
    ///   more than the backend allows.
    func openFile(backend: any IOBackend, mode: FileAccessMode?) throws(FolioError) -> any CachedFileProtocol
    /// Evicts until at most `bytes` are resident or nothing more can be
    /// evicted, writing dirty folios back first (`PageCache.shrink(toBytes:)`).
    func shrink(toBytes bytes: Int)
    /// The errors of closing files whose last handle was dropped without
    /// `close()`, oldest first, each returned once.
    func takeDroppedHandleErrors() -> [FolioError]
    /// Collapses every open file now (`PageCache.compact()`).
    @discardableResult func compact() -> CompactionReport
    /// Starts (or restarts) the background collapser; nil `interval` takes
    /// `configuration.compression.collapseInterval`.
    ///
    /// - Throws: `FolioError.shutDown` after `shutdown()`;
    ///   `FolioError.invalidArgument` for an interval out of range.
    func startBackgroundCollapse(interval: Duration?) throws(FolioError)
    /// Stops the background collapser, waiting for a running pass to end.
    func stopBackgroundCollapse()
    /// Stops background work and closes every open file, writing back and
    /// syncing it (`PageCache.shutdown()`).
    ///
    /// - Throws: `PageCacheShutdownError` listing every file that could not
    ///   be closed and every dropped handle's error.
    func shutdown() throws(PageCacheShutdownError)
    /// Whether `shutdown()` has been called.
    var isShutDown: Bool { get }
    /// Brings the cache's metrics up to date (`PageCache.exportMetrics()`).
    func exportMetrics()
}

extension PageCache: PageCacheProtocol {
    /// Which lock strategy (or hybrid preset) the cache runs: `strategy.kind`.
    public var strategyKind: LockStrategyKind { strategy.kind }
    /// The strategy's slow-path lock counters: `strategy.statistics`.
    public var lockStatistics: LockStatistics { strategy.statistics }
    /// Opens the file at `path` (`open(path:_:options:permissions:)`) as an
    /// existential handle.
    public func openFile(path: String, mode: FileAccessMode, options: OpenOptions, permissions: FilePermissions) throws(FolioError) -> any CachedFileProtocol {
        try open(path: path, mode, options: options, permissions: permissions)
    }
    /// Opens a file through `backend` (`open(backend:mode:)`) as an existential handle.
    public func openFile(backend: any IOBackend, mode: FileAccessMode?) throws(FolioError) -> any CachedFileProtocol {
        try open(backend: backend, mode: mode)
    }
}

/// A page cache whose strategy is chosen at run time, from a configuration
/// value. The configuration is opened once, here, into a
/// `PageCache<ConcreteStrategy>`; every file operation then runs that
/// specialized engine (one dynamic call per operation, none per lock).
public final class AnyPageCache: Sendable {
    /// The cache itself (a `PageCache<Strategy>`).
    public let base: any PageCacheProtocol

    /// Builds a `PageCache` of the strategy `strategy` names.
    ///
    /// - Parameters:
    ///   - strategy: The lock strategy, its tunables and parking-lot size.
    ///   - configuration: The cache's page size, budget, eviction and the rest.
    /// - Throws: `FolioError.invalidArgument` if `strategy` or
    ///   `configuration` does not validate.
    public init(strategy: LockStrategyConfiguration, configuration: PageCacheConfiguration = PageCacheConfiguration()) throws(FolioError) {
        struct Make: LockStrategyVisitor {
            let configuration: PageCacheConfiguration
            func visit<S: LockStrategy>(_ strategy: S) -> Result<any PageCacheProtocol, FolioError> {
                Result { () throws(FolioError) -> any PageCacheProtocol in
                    try PageCache(strategy: strategy, configuration: configuration)
                }
            }
        }
        try strategy.validate()
        base = try strategy.visit(Make(configuration: configuration)).get()
    }

    /// What the cache was built with.
    public var configuration: PageCacheConfiguration { base.configuration }
    /// Which lock strategy (or hybrid preset) the cache runs.
    public var strategyKind: LockStrategyKind { base.strategyKind }
    /// The strategy's slow-path lock counters.
    public var lockStatistics: LockStatistics { base.lockStatistics }
    /// Counters and the resident byte count (a snapshot).
    public var statistics: CacheStatistics { base.statistics }

    /// Opens a file (`PageCache.open(_:_:options:permissions:)`): a handle
    /// of the strategy's specialized `CachedFile`, as an `AnyCachedFile`.
    public func open(_ path: FilePath, _ mode: FileAccessMode = .readWrite, options: OpenOptions = [.create],
                     permissions: FilePermissions = OpenOptions.defaultPermissions) throws(FolioError) -> AnyCachedFile {
        AnyCachedFile(try base.openFile(path: path.string, mode: mode, options: options, permissions: permissions))
    }
    /// `open(_:_:options:permissions:)` with the path as a `String`.
    public func open(path: String, _ mode: FileAccessMode = .readWrite, options: OpenOptions = [.create],
                     permissions: FilePermissions = OpenOptions.defaultPermissions) throws(FolioError) -> AnyCachedFile {
        AnyCachedFile(try base.openFile(path: path, mode: mode, options: options, permissions: permissions))
    }
    /// Opens a file through any backend (`PageCache.open(backend:mode:)`), as
    /// an `AnyCachedFile`; nil `mode` takes the backend's.
    public func open(backend: any IOBackend, mode: FileAccessMode? = nil) throws(FolioError) -> AnyCachedFile {
        AnyCachedFile(try base.openFile(backend: backend, mode: mode))
    }
    /// Forced eviction down to at most `bytes` resident (`PageCache.shrink(toBytes:)`).
    public func shrink(toBytes bytes: Int) { base.shrink(toBytes: bytes) }
    /// The errors of closing files whose last handle was dropped without
    /// `close()`, oldest first, each returned once (`PageCache.takeDroppedHandleErrors()`).
    public func takeDroppedHandleErrors() -> [FolioError] { base.takeDroppedHandleErrors() }
    /// Collapses every open file now (`PageCache.compact()`).
    @discardableResult public func compact() -> CompactionReport { base.compact() }
    /// Starts (or restarts) the background collapser (`PageCache.startBackgroundCollapse(interval:)`).
    public func startBackgroundCollapse(interval: Duration? = nil) throws(FolioError) { try base.startBackgroundCollapse(interval: interval) }
    /// Stops the background collapser, waiting for a running pass to end.
    public func stopBackgroundCollapse() { base.stopBackgroundCollapse() }
    /// `PageCache.shutdown()`.
    public func shutdown() throws(PageCacheShutdownError) { try base.shutdown() }
    /// Whether `shutdown()` has been called.
    public var isShutDown: Bool { base.isShutDown }
    /// Brings the cache's metrics up to date (`PageCache.exportMetrics()`).
    public func exportMetrics() { base.exportMetrics() }
}
