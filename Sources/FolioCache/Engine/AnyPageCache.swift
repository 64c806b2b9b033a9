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
    var path: String { get }
    var isClosed: Bool { get }
    /// Whether this handle may change the file (`open`'s mode).
    var mode: FileAccessMode { get }
    var statistics: CacheStatistics { get }
    var fileStatistics: FileStatistics { get }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int
    func read(count: Int, at offset: Int64) throws(FolioError) -> [UInt8]
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError)
    func write(_ bytes: [UInt8], at offset: Int64) throws(FolioError)
    func size() throws(FolioError) -> Int64
    func truncate(to newSize: Int64) throws(FolioError)
    func flush() throws(FolioError)
    func sync() throws(FolioError)
    func close() throws(FolioError)
    /// Drops every change not written back (`CachedFile.discardUnwrittenChanges`).
    func discardUnwrittenChanges() throws(FolioError)
    /// Merges aligned runs of cached pages into large folios (`CachedFile.compact`).
    @discardableResult func compact() throws(FolioError) -> CompactionReport
    /// Maps a view; `map(_:mode:faultAround:)` is the spelling to call.
    func makeView(_ range: Range<Int64>, mode: ViewMode, faultAround: Int?) throws(FolioError) -> any FileViewProtocol
}

extension CachedFile: CachedFileProtocol {
    public func makeView(_ range: Range<Int64>, mode: ViewMode, faultAround: Int?) throws(FolioError) -> any FileViewProtocol {
        try map(range, mode: mode, faultAround: faultAround)
    }
}

/// The operations of a cache, independent of its strategy type.
public protocol PageCacheProtocol: AnyObject, Sendable {
    var configuration: PageCacheConfiguration { get }
    var strategyKind: LockStrategyKind { get }
    var lockStatistics: LockStatistics { get }
    var statistics: CacheStatistics { get }
    func openFile(path: String, mode: FileAccessMode, options: OpenOptions, permissions: FilePermissions) throws(FolioError) -> any CachedFileProtocol
    func openFile(backend: any IOBackend, mode: FileAccessMode?) throws(FolioError) -> any CachedFileProtocol
    func shrink(toBytes bytes: Int)
    func takeDroppedHandleErrors() -> [FolioError]
    @discardableResult func compact() -> CompactionReport
    func startBackgroundCollapse(interval: Duration?) throws(FolioError)
    func stopBackgroundCollapse()
    func shutdown() throws(PageCacheShutdownError)
    var isShutDown: Bool { get }
    func exportMetrics()
}

extension PageCache: PageCacheProtocol {
    public var strategyKind: LockStrategyKind { strategy.kind }
    public var lockStatistics: LockStatistics { strategy.statistics }
    public func openFile(path: String, mode: FileAccessMode, options: OpenOptions, permissions: FilePermissions) throws(FolioError) -> any CachedFileProtocol {
        try open(path: path, mode, options: options, permissions: permissions)
    }
    public func openFile(backend: any IOBackend, mode: FileAccessMode?) throws(FolioError) -> any CachedFileProtocol {
        try open(backend: backend, mode: mode)
    }
}

/// A page cache whose strategy is chosen at run time, from a configuration
/// value. The configuration is opened once, here, into a
/// `PageCache<ConcreteStrategy>`; every file operation then runs that
/// specialized engine (one dynamic call per operation, none per lock).
public final class AnyPageCache: Sendable {
    public let base: any PageCacheProtocol

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

    public var configuration: PageCacheConfiguration { base.configuration }
    public var strategyKind: LockStrategyKind { base.strategyKind }
    public var lockStatistics: LockStatistics { base.lockStatistics }
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
    public func open(backend: any IOBackend, mode: FileAccessMode? = nil) throws(FolioError) -> AnyCachedFile {
        AnyCachedFile(try base.openFile(backend: backend, mode: mode))
    }
    public func shrink(toBytes bytes: Int) { base.shrink(toBytes: bytes) }
    public func takeDroppedHandleErrors() -> [FolioError] { base.takeDroppedHandleErrors() }
    @discardableResult public func compact() -> CompactionReport { base.compact() }
    public func startBackgroundCollapse(interval: Duration? = nil) throws(FolioError) { try base.startBackgroundCollapse(interval: interval) }
    public func stopBackgroundCollapse() { base.stopBackgroundCollapse() }
    /// `PageCache.shutdown()`.
    public func shutdown() throws(PageCacheShutdownError) { try base.shutdown() }
    public var isShutDown: Bool { base.isShutDown }
    public func exportMetrics() { base.exportMetrics() }
}
