/// The operations of a view, for code that does not know its file's strategy
/// type (a cache chosen at run time). `FileView<Strategy>` is the only
/// conformer; calls through this protocol run the same engine code.
public protocol FileViewProtocol: AnyObject, Sendable {
    var range: Range<Int64> { get }
    var mode: ViewMode { get }
    var count: Int { get }
    var statistics: ViewStatistics { get }
    func unmap()
    func withUnsafeBytes<R>(at offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) -> R) throws(FolioError) -> R
    func copyBytes(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FolioError)
    func copyBytes(at offset: Int, count: Int) throws(FolioError) -> [UInt8]
    func load<T: BitwiseCopyable>(at offset: Int, as type: T.Type) throws(FolioError) -> T
    func withUnsafeMutableBytes<R>(at offset: Int, count: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) throws(FolioError) -> R
    func store(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FolioError)
    func store(_ bytes: [UInt8], at offset: Int) throws(FolioError)
}

extension FileView: FileViewProtocol {}

extension CachedFileProtocol {
    /// Maps `range` of the file as a view (see `CachedFile.map`).
    public func map(_ range: Range<Int64>, mode: ViewMode = .readOnly, faultAround: Int? = nil) throws(FolioError) -> any FileViewProtocol {
        try makeView(range, mode: mode, faultAround: faultAround)
    }
}
