import FolioLocks
#if canImport(Glibc)
import Glibc
#endif

/// A file held in memory, for tests: the same contract as a POSIX file, plus
/// fault injection (make the next reads, writes or syncs fail with an errno)
/// and counters of the I/O the cache actually did.
public final class MemoryBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: every mutable field is accessed only under `lock`.

    public let path: String
    let lock = ShortLock()
    var bytes: [UInt8]
    var failReads: (count: Int, errno: Int32) = (0, 0)
    var failWrites: (count: Int, errno: Int32) = (0, 0)
    var failSyncs: (count: Int, errno: Int32) = (0, 0)
    var readDelayMicroseconds: UInt32 = 0
    var writeDelayMicroseconds: UInt32 = 0
    var reads = 0
    var writes = 0
    var syncs = 0

    public init(path: String = "memory", contents: [UInt8] = []) {
        self.path = path
        self.bytes = contents
    }

    /// The current contents (what a reader of the real file would see).
    public var contents: [UInt8] { lock.withLock { bytes } }
    /// (reads, writes, syncs) performed so far.
    public var ioCounts: (reads: Int, writes: Int, syncs: Int) { lock.withLock { (reads, writes, syncs) } }

    /// Makes the next `count` reads fail with `errno`.
    public func failNextReads(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failReads = (count, e) } }
    /// Makes every read sleep this long (outside the lock) first, so that
    /// tests can make concurrent misses overlap.
    public func setReadDelay(microseconds: UInt32) { lock.withLock { readDelayMicroseconds = microseconds } }
    /// Makes every write sleep this long (outside the lock) first: a slow
    /// disk, which widens the windows in which writeback holds page locks.
    public func setWriteDelay(microseconds: UInt32) { lock.withLock { writeDelayMicroseconds = microseconds } }
    /// Makes the next `count` writes fail with `errno`.
    public func failNextWrites(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failWrites = (count, e) } }
    /// Makes the next `count` syncs fail with `errno`.
    public func failNextSyncs(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failSyncs = (count, e) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        let delay = lock.withLock { readDelayMicroseconds }
        if delay > 0 { usleep(delay) }
        lock.lock()
        defer { lock.unlock() }
        if failReads.count > 0 {
            failReads.count -= 1
            throw .io(operation: "pread", path: path, offset: offset, errno: failReads.errno)
        }
        reads += 1
        guard offset < Int64(bytes.count) else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { src in
            buffer.baseAddress?.copyMemory(from: src.baseAddress! + Int(offset), byteCount: n)
        }
        return n
    }

    public func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        let delay = lock.withLock { writeDelayMicroseconds }
        if delay > 0 { usleep(delay) }
        lock.lock()
        defer { lock.unlock() }
        if failWrites.count > 0 {
            failWrites.count -= 1
            throw .io(operation: "pwrite", path: path, offset: offset, errno: failWrites.errno)
        }
        writes += 1
        let end = Int(offset) + data.count
        if end > bytes.count { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
        bytes.withUnsafeMutableBytes { dst in
            if let src = data.baseAddress { (dst.baseAddress! + Int(offset)).copyMemory(from: src, byteCount: data.count) }
        }
    }

    public func size() throws(FolioError) -> Int64 { lock.withLock { Int64(bytes.count) } }

    public func truncate(to size: Int64) throws(FolioError) {
        lock.lock()
        defer { lock.unlock() }
        let n = Int(size)
        if n < bytes.count { bytes.removeSubrange(n...) } else { bytes.append(contentsOf: repeatElement(0, count: n - bytes.count)) }
    }

    public func sync() throws(FolioError) {
        lock.lock()
        defer { lock.unlock() }
        if failSyncs.count > 0 {
            failSyncs.count -= 1
            throw .io(operation: "fsync", path: path, offset: nil, errno: failSyncs.errno)
        }
        syncs += 1
    }

    public func close() throws(FolioError) {}
}
