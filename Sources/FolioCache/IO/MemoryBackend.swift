import FolioLocks
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A file held in memory: the same contract as a POSIX file, for tests and
/// for data that needs no disk. (Within the package it also injects faults —
/// make the next reads, writes or syncs fail with an errno, or slow them — and
/// counts the I/O the cache did; those hooks are not API.)
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
    var nonblockingReads = false
    var writes = 0
    var syncs = 0

    /// With an `identity`, opening this backend again in a cache that has
    /// it open joins its mapping, as a real file's second open does.
    public init(path: String = "memory", contents: [UInt8] = [], identity: FileIdentity? = nil) {
        self.path = path
        self.bytes = contents
        self.identity = identity
    }

    public let identity: FileIdentity?

    /// The current contents (what a reader of the real file would see).
    public var contents: [UInt8] { lock.withLock { bytes } }
    /// (reads, writes, syncs) performed so far.
    package var ioCounts: (reads: Int, writes: Int, syncs: Int) { lock.withLock { (reads, writes, syncs) } }

    /// Makes the next `count` reads fail with `errno`.
    package func failNextReads(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failReads = (count, e) } }
    /// Makes every read sleep this long (outside the lock) first, so that
    /// tests can make concurrent misses overlap.
    package func setReadDelay(microseconds: UInt32) { lock.withLock { readDelayMicroseconds = microseconds } }
    /// Makes every write sleep this long (outside the lock) first: a slow
    /// disk, which widens the windows in which writeback holds page locks.
    package func setWriteDelay(microseconds: UInt32) { lock.withLock { writeDelayMicroseconds = microseconds } }
    /// Lets `readWithoutBlocking` serve reads (memory never waits): the
    /// async API then serves this backend's misses in the caller's task, as
    /// it does a POSIX file's pages in the OS page cache. Off by default, so
    /// that tests of the async API take its hops as with a disk. A read
    /// with a delay or an injected failure pending still answers nil.
    package func setReadsWithoutBlocking(_ on: Bool) { lock.withLock { nonblockingReads = on } }
    /// Makes the next `count` writes fail with `errno`.
    package func failNextWrites(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failWrites = (count, e) } }
    /// Makes the next `count` syncs fail with `errno`.
    package func failNextSyncs(_ count: Int, errno e: Int32 = EIO) { lock.withLock { failSyncs = (count, e) } }

    /// Consumes one injected failure of an operation, if any is pending
    /// (lock held).
    func injectedFailure(_ fault: inout (count: Int, errno: Int32), _ operation: String, _ offset: Int64?) -> FolioError? {
        guard fault.count > 0 else { return nil }
        fault.count -= 1
        return .io(operation: operation, path: path, offset: offset, errno: Errno(rawValue: fault.errno))
    }

    func checkOffset(_ operation: String, _ offset: Int64) throws(FolioError) {
        guard offset >= 0, offset <= Int64(Int32.max) else {
            throw .invalidArgument("\(operation) of '\(path)': offset \(offset) is outside a memory file")
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        try checkOffset("pread", offset)
        let delay = lock.withLock { readDelayMicroseconds }
        if delay > 0 { usleep(delay) }
        lock.lock()
        defer { lock.unlock() }
        if let e = injectedFailure(&failReads, "pread", offset) { throw e }
        return copyOut(into: buffer, at: offset)
    }

    /// A read's copy (lock held; `offset` checked): counts the read.
    func copyOut(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        reads += 1
        let start = Int(offset)
        guard start < bytes.count, let dst = buffer.baseAddress else { return 0 }
        let n = min(buffer.count, bytes.count - start)
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { dst.copyMemory(from: base + start, byteCount: n) }
        }
        return n
    }

    public var readsWithoutBlocking: Bool { lock.withLock { nonblockingReads } }

    public func readWithoutBlocking(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard nonblockingReads, readDelayMicroseconds == 0, failReads.count == 0, offset >= 0, offset <= Int64(Int32.max) else { return nil }
        return copyOut(into: buffer, at: offset)
    }

    public func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        try checkOffset("pwrite", offset)
        let delay = lock.withLock { writeDelayMicroseconds }
        if delay > 0 { usleep(delay) }
        lock.lock()
        defer { lock.unlock() }
        if let e = injectedFailure(&failWrites, "pwrite", offset) { throw e }
        writes += 1
        guard let src = data.baseAddress, data.count > 0 else { return }
        let start = Int(offset)
        let end = start + data.count
        if end > bytes.count { bytes.append(contentsOf: repeatElement(0, count: end - bytes.count)) }
        bytes.withUnsafeMutableBytes { dst in
            if let base = dst.baseAddress { (base + start).copyMemory(from: src, byteCount: data.count) }
        }
    }

    public func size() throws(FolioError) -> Int64 { lock.withLock { Int64(bytes.count) } }

    public func truncate(to size: Int64) throws(FolioError) {
        try checkOffset("ftruncate", size)
        lock.lock()
        defer { lock.unlock() }
        let n = Int(size)
        if n < bytes.count { bytes.removeSubrange(n...) } else { bytes.append(contentsOf: repeatElement(0, count: n - bytes.count)) }
    }

    public func sync() throws(FolioError) {
        lock.lock()
        defer { lock.unlock() }
        if let e = injectedFailure(&failSyncs, "fsync", nil) { throw e }
        syncs += 1
    }

    public func close() throws(FolioError) {}
}
