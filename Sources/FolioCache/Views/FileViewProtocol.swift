/// The operations of a view, for code that does not know its file's strategy
/// type (a cache chosen at run time). `FileView<Strategy>` is the only
/// conformer; calls through this protocol run the same engine code.
/// Offsets are `Int64` bytes from the start of the view.
public protocol FileViewProtocol: AnyObject, Sendable {
    var range: Range<Int64> { get }
    var mode: ViewMode { get }
    var count: Int { get }
    var statistics: ViewStatistics { get }
    func unmap()
    func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R
    func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    func copyBytes(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(FolioError)
    func copyBytes(at offset: Int64, count: Int) throws(FolioError) -> [UInt8]
    func load<T: BitwiseCopyable>(at offset: Int64, as type: T.Type) throws(FolioError) -> T
    func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R
    func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R
    func store(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError)
    func store(_ bytes: [UInt8], at offset: Int64) throws(FolioError)
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
