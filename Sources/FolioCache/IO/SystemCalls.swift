import CFolioShims
#if canImport(Glibc)
import Glibc
#endif

/// The system calls `POSIXBackend` makes, as values, so that a test can put
/// its own below a real backend (swift-system keeps such a layer behind a
/// mocking flag): interrupted calls, short transfers and failures of any
/// call, with the backend's own retry loops above them. `.live` is the
/// kernel; `FaultInjector.systemCalls(over:)` wraps one with faults.
///
/// Each call returns what the system call returns, except that a failure
/// is `-errno` (as the kernel's own ABI returns it), never a global `errno`.
public struct SystemCalls: Sendable {
    /// `open(path, flags, mode)`: a descriptor, or `-errno`.
    public var open: @Sendable (_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32
    /// `pread(fd, buffer, count, offset)`: bytes read, or `-errno`.
    public var pread: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int
    /// `preadv2(fd, buffer, count, offset, RWF_NOWAIT)`: bytes read from the
    /// OS page cache without waiting for the device, or `-errno` (`-EAGAIN`:
    /// not cached). A layer that leaves it out answers `-EAGAIN` always,
    /// and the async API then takes every miss to its I/O threads.
    public var preadNoWait: @Sendable (_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int
    /// `pwrite(fd, bytes, count, offset)`: bytes written, or `-errno`.
    public var pwrite: @Sendable (_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int
    /// `fstat(fd)`: the file's size, device and inode, or `-errno` as the size.
    public var fstat: @Sendable (_ fd: Int32) -> (size: Int64, device: UInt64, inode: UInt64, isDirectory: Bool)
    /// `ftruncate(fd, size)`: 0, or `-errno`.
    public var ftruncate: @Sendable (_ fd: Int32, _ size: Int64) -> Int32
    /// `fsync(fd)`: 0, or `-errno`.
    public var fsync: @Sendable (_ fd: Int32) -> Int32
    /// `close(fd)`: 0, or `-errno`.
    public var close: @Sendable (_ fd: Int32) -> Int32

    /// A layer of the given calls, each following the `-errno` convention above.
    public init(
        open: @escaping @Sendable (String, Int32, mode_t) -> Int32,
        pread: @escaping @Sendable (Int32, UnsafeMutableRawPointer, Int, Int64) -> Int,
        pwrite: @escaping @Sendable (Int32, UnsafeRawPointer, Int, Int64) -> Int,
        fstat: @escaping @Sendable (Int32) -> (size: Int64, device: UInt64, inode: UInt64, isDirectory: Bool),
        ftruncate: @escaping @Sendable (Int32, Int64) -> Int32,
        fsync: @escaping @Sendable (Int32) -> Int32,
        close: @escaping @Sendable (Int32) -> Int32,
        preadNoWait: @escaping @Sendable (Int32, UnsafeMutableRawPointer, Int, Int64) -> Int = { _, _, _, _ in -Int(EAGAIN) }
    ) {
        self.open = open
        self.pread = pread
        self.preadNoWait = preadNoWait
        self.pwrite = pwrite
        self.fstat = fstat
        self.ftruncate = ftruncate
        self.fsync = fsync
        self.close = close
    }

    /// The kernel's.
    public static let live = SystemCalls(
        open: { path, flags, mode in
            let fd = Glibc.open(path, flags, mode)
            return fd >= 0 ? fd : -errno
        },
        pread: { fd, buffer, count, offset in
            let n = Glibc.pread(fd, buffer, count, off_t(offset))
            return n >= 0 ? n : -Int(errno)
        },
        pwrite: { fd, bytes, count, offset in
            let n = Glibc.pwrite(fd, bytes, count, off_t(offset))
            return n >= 0 ? n : -Int(errno)
        },
        fstat: { fd in
            var st = stat()
            guard Glibc.fstat(fd, &st) == 0 else { return (-Int64(errno), 0, 0, false) }
            return (Int64(st.st_size), UInt64(st.st_dev), UInt64(st.st_ino), (st.st_mode & S_IFMT) == S_IFDIR)
        },
        ftruncate: { fd, size in Glibc.ftruncate(fd, off_t(size)) == 0 ? 0 : -errno },
        fsync: { fd in Glibc.fsync(fd) == 0 ? 0 : -errno },
        close: { fd in Glibc.close(fd) == 0 ? 0 : -errno },
        preadNoWait: { fd, buffer, count, offset in folio_pread_nowait(fd, buffer, count, offset) }
    )
}
