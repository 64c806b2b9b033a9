/// An open file of a cache whose strategy was chosen at run time
/// (`AnyPageCache.open`): a concrete type that conforms to
/// `CachedFileProtocol`, so that generic code over files — a function
/// `<F: CachedFileProtocol>`, a type `Store<F>` holding one — takes it as it
/// takes a `CachedFile<Strategy>`. Each call is one dynamic call into the
/// strategy's specialized `CachedFile` (`base`); the engine below runs the
/// same code either way.
public final class AnyCachedFile: CachedFileProtocol {
    /// The handle itself (a `CachedFile<Strategy>`).
    public let base: any CachedFileProtocol

    /// Wraps a handle (an `AnyCachedFile` is not wrapped twice).
    public init(_ base: any CachedFileProtocol) {
        self.base = (base as? AnyCachedFile)?.base ?? base
    }

    public var path: String { base.path }
    public var isClosed: Bool { base.isClosed }
    public var mode: FileAccessMode { base.mode }
    public var statistics: CacheStatistics { base.statistics }
    public var fileStatistics: FileStatistics { base.fileStatistics }
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        try base.read(into: buffer, at: offset)
    }
    public func read(count: Int, at offset: Int64) throws(FolioError) -> [UInt8] { try base.read(count: count, at: offset) }
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) { try base.write(bytes, at: offset) }
    public func write(_ bytes: [UInt8], at offset: Int64) throws(FolioError) { try base.write(bytes, at: offset) }
    public func size() throws(FolioError) -> Int64 { try base.size() }
    public func truncate(to newSize: Int64) throws(FolioError) { try base.truncate(to: newSize) }
    public func flush() throws(FolioError) { try base.flush() }
    public func sync() throws(FolioError) { try base.sync() }
    public func close() throws(FolioError) { try base.close() }
    public func discardUnwrittenChanges() throws(FolioError) { try base.discardUnwrittenChanges() }
    @discardableResult public func compact() throws(FolioError) -> CompactionReport { try base.compact() }
    public func makeView(_ range: Range<Int64>, mode: ViewMode, faultAround: Int?) throws(FolioError) -> any FileViewProtocol {
        try base.makeView(range, mode: mode, faultAround: faultAround)
    }
    /// The async API of the strategy's file (docs/async.md).
    public var async: AnyAsyncCachedFile { AnyAsyncCachedFile(base.async) }
}
