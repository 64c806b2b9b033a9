import FolioCache
import NIOCore
import Synchronization

/// Files served through a Folio cache of strategy `Strategy` (the
/// configuration's, opened once into the specialized engine: see
/// `ServeOptions.makeSource`). Each file is opened once, on its first
/// request, and stays open: a request is then one cached read (a hit served
/// inline in the request's task).
public final class FolioFileSource<Strategy: LockStrategy>: FileSource {
    public let cache: PageCache<Strategy>
    public let directory: ServedDirectory
    /// Open handles by real path (two request paths to one file share one).
    private let handles = Mutex<[String: CachedFile<Strategy>]>([:])
    /// Larger files are refused rather than buffered whole.
    public static var maximumFileSize: Int64 { 1 << 30 }

    public let readMode: FolioReadMode

    public init(cache: PageCache<Strategy>, directory: ServedDirectory, readMode: FolioReadMode = .read) {
        self.cache = cache
        self.directory = directory
        self.readMode = readMode
    }

    public var name: String { cache.strategy.kind.rawValue }

    public func contents(of path: ServePath, allocator: ByteBufferAllocator) async throws(ServeError) -> ByteBuffer {
        let file = try handle(for: path)
        do {
            let size = try file.size()
            guard size <= Self.maximumFileSize else { throw ServeError.readFailed("\(path) is larger than \(Self.maximumFileSize) bytes") }
            return try await FolioRead.whole(file, size: Int(size), mode: readMode, allocator: allocator)
        } catch let error as ServeError {
            throw error
        } catch {
            throw .readFailed("\(path): \(error)")
        }
    }

    /// The files open now (for tests and diagnostics).
    var openHandles: [CachedFile<Strategy>] { handles.withLock { Array($0.values) } }
    public var openFileCount: Int { handles.withLock { $0.count } }
    public var cacheStatistics: CacheStatistics? { cache.statistics }

    func handle(for path: ServePath) throws(ServeError) -> CachedFile<Strategy> {
        let real = try directory.resolve(path)
        if let open = handles.withLock({ $0[real] }) { return open }
        let file: CachedFile<Strategy>
        do {
            file = try cache.open(path: real, .readOnly, options: [])
        } catch {
            throw .readFailed("cannot open \(path): \(error)")
        }
        // Two first requests may both open: the cache joins the second to
        // the first's mapping, and the table keeps one (the other closes).
        let (kept, spare) = handles.withLock { table -> (CachedFile<Strategy>, CachedFile<Strategy>?) in
            if let other = table[real] { return (other, file) }
            table[real] = file
            return (file, nil)
        }
        if let spare { try? spare.close() }
        return kept
    }

    public func shutdown() async throws {
        let open = handles.withLock { table in
            let all = Array(table.values)
            table.removeAll()
            return all
        }
        var failures: [String] = []
        for file in open {
            do { try file.close() } catch { failures.append("\(file.path): \(error)") }
        }
        if !failures.isEmpty { throw ServeError.readFailed("closing: " + failures.joined(separator: "; ")) }
    }
}

