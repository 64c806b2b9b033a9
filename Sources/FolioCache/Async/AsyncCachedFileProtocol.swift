/// The async API of an open file, independent of its strategy type: what
/// `CachedFile.async` (an `AsyncCachedFile<Strategy>`) and
/// `AnyCachedFile.async` (for a strategy chosen at run time) both offer, so
/// that generic code over files — `<F: CachedFileProtocol>` — can write
/// `try await file.async.read(count:at:)` for either (docs/async.md).
///
/// Every requirement behaves as `AsyncCachedFile`'s member of the same name:
/// a hit is served in the caller's task, a page-lock wait of the per-page
/// strategies suspends the task, everything else hops to the cache's I/O
/// executor. Errors: `FolioError` as the synchronous calls throw, or
/// `CancellationError` when the task was cancelled while it waited for a
/// page lock.
public protocol AsyncCachedFileProtocol: Sendable {
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were
    /// read (fewer only at end of file). `buffer` must stay valid until this
    /// returns.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) async throws -> Int
    /// Reads up to `count` bytes at `offset` (fewer at end of file).
    func read(count: Int, at offset: Int64) async throws -> [UInt8]
    /// Writes all of `bytes` at `offset` (extending the file as `write`
    /// does). `bytes` must stay valid until this returns.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) async throws
    /// Writes `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int64) async throws
    /// The logical size in bytes (never suspends).
    func size() throws(FolioError) -> Int64
    /// `flush()` on the I/O executor.
    func flush() async throws
    /// `sync()` on the I/O executor.
    func sync() async throws
    /// `truncate(to:)` on the I/O executor.
    func truncate(to newSize: Int64) async throws
    /// `close()` on the I/O executor.
    func close() async throws
}

extension AsyncCachedFile: AsyncCachedFileProtocol {}

/// The async API of an `AnyCachedFile` (`AnyCachedFile.async`): each call is
/// one dynamic call into the strategy's specialized `AsyncCachedFile`.
public struct AnyAsyncCachedFile: AsyncCachedFileProtocol {
    /// The strategy's own async API (an `AsyncCachedFile<Strategy>`).
    public let base: any AsyncCachedFileProtocol

    /// Wraps an async API (an `AnyAsyncCachedFile` is not wrapped twice).
    public init(_ base: any AsyncCachedFileProtocol) {
        self.base = (base as? AnyAsyncCachedFile)?.base ?? base
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) async throws -> Int {
        try await base.read(into: buffer, at: offset)
    }
    public func read(count: Int, at offset: Int64) async throws -> [UInt8] { try await base.read(count: count, at: offset) }
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) async throws { try await base.write(bytes, at: offset) }
    public func write(_ bytes: [UInt8], at offset: Int64) async throws { try await base.write(bytes, at: offset) }
    public func size() throws(FolioError) -> Int64 { try base.size() }
    public func flush() async throws { try await base.flush() }
    public func sync() async throws { try await base.sync() }
    public func truncate(to newSize: Int64) async throws { try await base.truncate(to: newSize) }
    public func close() async throws { try await base.close() }
}

/// The async API of a view, independent of its strategy type: what
/// `FileView.async` (an `AsyncFileView<Strategy>`) offers, reachable from
/// the `any FileViewProtocol` an `AnyCachedFile` maps.
public protocol AsyncFileViewProtocol: Sendable {
    /// Faults in (and maps) the pages holding `count` bytes at `offset`, on
    /// the I/O executor (`AsyncFileView.prefault(at:count:)`).
    func prefault(at offset: Int64, count: Int) async throws
    /// Copies `count` bytes at `offset` through the file's async read, with
    /// the view's checks (`AsyncFileView.copyBytes(at:count:)`).
    func copyBytes(at offset: Int64, count: Int) async throws -> [UInt8]
    /// Writes `bytes` at `offset` through the file's async write (a
    /// read-write view; never past EOF) (`AsyncFileView.store(_:at:)`).
    func store(_ bytes: [UInt8], at offset: Int64) async throws
}

extension AsyncFileView: AsyncFileViewProtocol {}
