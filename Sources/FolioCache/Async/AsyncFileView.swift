/// The async API of a view (`FileView.async`): faults that never block the
/// cooperative pool (docs/async.md).
///
/// - `prefault(at:count:)` runs the view's fault path for the pages of a
///   range on the cache's I/O executor, in one hop: afterwards the view has
///   them mapped, and the synchronous in-place accesses (`withUnsafeBytes`,
///   `load`) find them without faulting — unless a page was evicted,
///   truncated or replaced in between, when they fault again
///   synchronously.
/// - `copyBytes(at:count:)` reads the bytes through the file's async read
///   (hits inline, lock waits suspended, misses hopped), with the view's
///   checks: inside the view, mapped, below EOF.
/// - `store(_:at:)` (read-write views) writes through the file's async
///   write, with the view's checks.
public struct AsyncFileView<Strategy: LockStrategy>: Sendable {
    public let view: FileView<Strategy>

    init(view: FileView<Strategy>) { self.view = view }

    /// Faults in (and maps) the pages holding `count` bytes at `offset`, on
    /// the I/O executor.
    public func prefault(at offset: Int64, count: Int) async throws {
        let start = try view.checkAccess("prefault", offset: offset, count: count, write: false)
        try view.checkEOF(start, count)
        guard count > 0 else { return }
        let view = self.view
        let pageSize = view.file.pageSize
        try await offPool(view.file.cache) { () throws(FolioError) in
            var pos = offset - (start & Int64(pageSize - 1))
            while pos < offset + Int64(count) {
                // One byte of each page: the fault path maps the page.
                try view.withUnsafeBytes(at: max(pos, offset), count: 1) { _ in }
                pos += Int64(pageSize)
            }
        }
    }

    /// Copies `count` bytes at `offset` (throws `beyondEndOfFile` for bytes
    /// at or past EOF, as the view does).
    public func copyBytes(at offset: Int64, count: Int) async throws -> [UInt8] {
        let start = try view.checkAccess("read", offset: offset, count: count, write: false)
        try view.checkEOF(start, count)
        let bytes = try await view.file.async.read(count: count, at: start)
        if bytes.count < count { try view.checkEOF(start, count) }
        return bytes
    }

    /// Writes `bytes` at `offset` (a read-write view; never past EOF).
    public func store(_ bytes: [UInt8], at offset: Int64) async throws {
        let start = try view.checkAccess("write", offset: offset, count: bytes.count, write: true)
        try view.checkEOF(start, bytes.count)
        try await view.file.async.write(bytes, at: start)
    }
}

extension FileView {
    /// This view's async API (docs/async.md).
    public var async: AsyncFileView<Strategy> { AsyncFileView(view: self) }
}
