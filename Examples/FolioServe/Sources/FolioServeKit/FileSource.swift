import FolioCache
import NIOCore

/// Where a server's file bytes come from: Folio's cache, or the operating
/// system's (the baseline). One value serves every request; it keeps each
/// file it has resolved open.
public protocol FileSource: Sendable {
    /// The engine's name in reports: a strategy name, or `os`.
    var name: String { get }
    /// The whole file `path` names.
    func contents(of path: ServePath, allocator: ByteBufferAllocator) async throws(ServeError) -> ByteBuffer
    /// Writes back and closes what is open (graceful shutdown).
    func shutdown() async throws
    /// Files open now.
    var openFileCount: Int { get }
    /// The Folio cache's counters (nil for `os`).
    var cacheStatistics: CacheStatistics? { get }
}
