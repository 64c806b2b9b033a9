/// The operations of a view, for code that does not know its file's strategy
/// type (a cache chosen at run time). `FileView<Strategy>` is the only
/// conformer; calls through this protocol run the same engine code.
/// Offsets are `Int64` bytes from the start of the view.
public protocol FileViewProtocol: AnyObject, Sendable {
    /// The bytes of the file this view covers.
    var range: Range<Int64> { get }
    /// Whether the view may change the file (read-only or read-write).
    var mode: ViewMode { get }
    /// Bytes in the view.
    var count: Int { get }
    /// The view's fault, fill and mapped-hit counters (a snapshot).
    var statistics: ViewStatistics { get }
    /// Drops every mapping of the view; later accesses throw `FolioError.unmapped`.
    func unmap()
    /// Runs `body` on `count` bytes at `offset`: in place, with the folio
    /// pinned, when they lie inside one folio; otherwise on a copy
    /// (`FileView.withUnsafeBytes(at:count:_:)`).
    func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R
    /// The same with a closure that may throw any error; its error is rethrown as it is.
    func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Copies `buffer.count` bytes at `offset` into `buffer`.
    func copyBytes(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(FolioError)
    /// Returns `count` bytes at `offset`.
    func copyBytes(at offset: Int64, count: Int) throws(FolioError) -> [UInt8]
    /// Returns a value of a trivial type at `offset` (any alignment).
    func load<T: BitwiseCopyable>(at offset: Int64, as type: T.Type) throws(FolioError) -> T
    /// Runs `body` on `count` bytes at `offset` to change them, in place with
    /// the page locked or on a copy stored back; the pages become dirty
    /// (`FileView.withUnsafeMutableBytes(at:count:_:)`: `body` must not use
    /// the cache).
    func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R
    /// The same with a closure that may throw any error; its error is rethrown as it is.
    func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R
    /// Stores `bytes` at `offset`; the pages become dirty.
    func store(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError)
    /// Stores `bytes` at `offset`; the pages become dirty.
    func store(_ bytes: [UInt8], at offset: Int64) throws(FolioError)
    /// The type of this view's async API.
    associatedtype AsyncView: AsyncFileViewProtocol
    /// This view's async API (docs/async.md): faults on the I/O executor.
    var async: AsyncView { get }
}

extension FileView: FileViewProtocol {}

extension FileViewProtocol {
    /// Stores any collection of bytes at `offset` (`ArraySlice<UInt8>`,
    /// `Data`, `ContiguousArray<UInt8>`, …): in place from contiguous
    /// storage, else copied into an array first.
    @inlinable
    public func store<Bytes: Collection>(_ bytes: Bytes, at offset: Int64) throws(FolioError) where Bytes.Element == UInt8 {
        let done: Result<Void, FolioError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(FolioError) in try store(UnsafeRawBufferPointer(buffer), at: offset) }
        }
        if let done { return try done.get() }
        try store(Array(bytes), at: offset)
    }
}

extension CachedFileProtocol {
    /// Maps `range` of the file as a view (see `CachedFile.map`).
    public func map(_ range: Range<Int64>, mode: ViewMode = .readOnly, faultAround: Int? = nil) throws(FolioError) -> any FileViewProtocol {
        try makeView(range, mode: mode, faultAround: faultAround)
    }
}
