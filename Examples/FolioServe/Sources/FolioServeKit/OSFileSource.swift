import FolioCache
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The baseline: the same server without Folio. Each file is opened once
/// (like `FolioFileSource`); a request runs `fstat` and `pread` on a thread
/// pool (`NIOThreadPool`), so the bytes come from the operating system's
/// page cache.
public final class OSFileSource: FileSource {
    public let directory: ServedDirectory
    public let pool: NIOThreadPool
    private let descriptors = Mutex<[String: Int32]>([:])

    public init(directory: ServedDirectory, pool: NIOThreadPool = .singleton) {
        self.directory = directory
        self.pool = pool
    }

    public var name: String { "os" }
    public var openFileCount: Int { descriptors.withLock { $0.count } }
    public var cacheStatistics: CacheStatistics? { nil }

    public func contents(of path: ServePath, allocator: ByteBufferAllocator) async throws(ServeError) -> ByteBuffer {
        let fd = try descriptor(for: path)
        let result: Result<ByteBuffer, ServeError>
        do {
            result = try await pool.runIfActive { Self.readWhole(fd, path: path, allocator: allocator) }
        } catch {
            throw .readFailed("the thread pool is not running: \(error)")
        }
        return try result.get()
    }

    static func readWhole(_ fd: Int32, path: ServePath, allocator: ByteBufferAllocator) -> Result<ByteBuffer, ServeError> {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(.readFailed("\(path): fstat errno \(errno)")) }
        let size = Int(st.st_size)
        var buffer = allocator.buffer(capacity: size)
        guard size > 0 else { return .success(buffer) }
        var failure: Int32 = 0
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            guard let base = raw.baseAddress else { return 0 }
            var done = 0
            while done < size {
                let r = pread(fd, base + done, size - done, off_t(done))
                if r > 0 { done += r; continue }
                if r == 0 { break }  // the file shrank: serve what is there
                if errno == EINTR { continue }
                failure = errno
                return 0
            }
            return done
        }
        if failure != 0 { return .failure(.readFailed("\(path): pread errno \(failure)")) }
        return .success(buffer)
    }

    func descriptor(for path: ServePath) throws(ServeError) -> Int32 {
        let real = try directory.resolve(path)
        if let fd = descriptors.withLock({ $0[real] }) { return fd }
        let fd = open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .readFailed("cannot open \(path): errno \(errno)") }
        let (kept, spare) = descriptors.withLock { table -> (Int32, Int32?) in
            if let other = table[real] { return (other, fd) }
            table[real] = fd
            return (fd, nil)
        }
        if let spare { close(spare) }
        return kept
    }

    public func shutdown() async throws {
        let fds = descriptors.withLock { table in
            let all = Array(table.values)
            table.removeAll()
            return all
        }
        for fd in fds { close(fd) }
    }
}
