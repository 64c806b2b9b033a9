#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemPackage

/// A real file through pread / pwrite / fstat / ftruncate / fsync, retrying
/// `EINTR` and short transfers.
public final class POSIXBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: `fd` is immutable after init; the system calls used
    // are thread-safe at distinct or overlapping offsets (pread/pwrite do not
    // move a shared file position); `calls` is immutable and Sendable. `closed` is set once by `close`, which the
    // cache calls only after all other use of the backend has ended.

    public let path: String
    let fd: Int32
    var closed = false

    /// How to open the file (`OpenOptions`; the name is kept for callers).
    public typealias Options = OpenOptions

    /// Whether this backend's descriptor can write (`O_RDWR`) or only read.
    public let mode: FileAccessMode

    /// Opens `path` (`mode`, `options`, and `permissions` for a file it
    /// creates) through `systemCalls` (the kernel's unless a test
    /// substitutes its own, `SystemCalls`). Bad combinations throw
    /// `invalidArgument` (`OpenOptions`); a failed open throws
    /// `openFailed` with the system's `Errno`.
    public convenience init(path: FilePath, mode: FileAccessMode = .readWrite, options: OpenOptions = [.create],
                            permissions: FilePermissions = OpenOptions.defaultPermissions,
                            systemCalls: SystemCalls = .live) throws(FolioError) {
        try self.init(opening: path.string, mode: mode, options: options, permissions: permissions, systemCalls: systemCalls)
    }

    /// Opens `path` (see `init(path:mode:options:permissions:systemCalls:)`;
    /// `permissions` as a mode number, for example 0o600).
    public convenience init(path: String, mode: FileAccessMode = .readWrite, options: OpenOptions = [.create], permissions: mode_t = 0o644,
                            systemCalls: SystemCalls = .live) throws(FolioError) {
        try self.init(opening: path, mode: mode, options: options, permissions: FilePermissions(rawValue: permissions), systemCalls: systemCalls)
    }

    init(opening path: String, mode: FileAccessMode, options: OpenOptions, permissions: FilePermissions,
         systemCalls: SystemCalls) throws(FolioError) {
        try options.validate(path: path, mode: mode, permissions: permissions)
        var flags = (mode == .readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.truncate) { flags |= O_TRUNC }
        if options.contains(.exclusive) { flags |= O_EXCL }
        var fd: Int32
        repeat { fd = systemCalls.open(path, flags, permissions.rawValue) } while fd == -EINTR
        guard fd >= 0 else { throw .openFailed(path: path, errno: Errno(rawValue: -fd)) }
        // The identity is what makes a second open share the first's
        // mapping: without it the open fails rather than risk two mappings.
        var st = systemCalls.fstat(fd)
        while st.size == -Int64(EINTR) { st = systemCalls.fstat(fd) }
        if st.size < 0 || st.isDirectory {
            _ = systemCalls.close(fd)
            throw .openFailed(path: path, errno: st.size < 0 ? Errno(rawValue: Int32(-st.size)) : .isDirectory)
        }
        self.path = path
        self.fd = fd
        self.mode = mode
        self.calls = systemCalls
        self.identity = FileIdentity(device: st.device, inode: st.inode)
    }

    /// The device and inode of the open file (read once, at open; never nil).
    public let identity: FileIdentity?
    let calls: SystemCalls

    deinit {
        if !closed { _ = calls.close(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        let (done, error) = readLoop(into: buffer, at: offset, calls.pread)
        if let error { throw .io(operation: "pread", path: path, offset: offset + Int64(done), errno: Errno(rawValue: error)) }
        return done
    }

    /// True until the kernel or file system turns `RWF_NOWAIT` down
    /// (`EOPNOTSUPP`, `ENOSYS`, `EINVAL`: Linux before 4.14, some file systems).
    public var readsWithoutBlocking: Bool { noWaitSupported.load(ordering: .relaxed) }
    let noWaitSupported = Atomic<Bool>(true)

    /// `preadv2` with `RWF_NOWAIT` until the bytes are read or end of file:
    /// nil as soon as a call would wait for the device (`EAGAIN`) or fails.
    public func readWithoutBlocking(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int? {
        let (done, error) = readLoop(into: buffer, at: offset, calls.preadNoWait)
        guard let error else { return done }
        if error == EOPNOTSUPP || error == ENOSYS || error == EINVAL { noWaitSupported.store(false, ordering: .relaxed) }
        return nil
    }

    /// A pread-shaped `call` until `buffer` is full or end of file, retrying
    /// `EINTR` and short reads: the bytes read, and the errno that stopped it.
    func readLoop(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64,
                  _ call: (Int32, UnsafeMutableRawPointer, Int, Int64) -> Int) -> (done: Int, errno: Int32?) {
        guard let base = buffer.baseAddress else { return (0, nil) }
        var done = 0
        while done < buffer.count {
            let n = call(fd, base + done, buffer.count - done, offset + Int64(done))
            if n > 0 {
                done += n
            } else if n == 0 {
                break  // end of file
            } else if n != -Int(EINTR) {
                return (done, Int32(-n))
            }
        }
        return (done, nil)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = calls.pwrite(fd, base + done, bytes.count - done, offset + Int64(done))
            if n > 0 {
                done += n
            } else if n == 0 {
                throw .io(operation: "pwrite", path: path, offset: offset + Int64(done), errno: Errno(rawValue: EIO))
            } else if n != -Int(EINTR) {
                throw .io(operation: "pwrite", path: path, offset: offset + Int64(done), errno: Errno(rawValue: Int32(-n)))
            }
        }
    }

    public func size() throws(FolioError) -> Int64 {
        while true {
            let st = calls.fstat(fd)
            if st.size >= 0 { return st.size }
            if st.size != -Int64(EINTR) { throw .io(operation: "fstat", path: path, offset: nil, errno: Errno(rawValue: Int32(-st.size))) }
        }
    }

    public func truncate(to size: Int64) throws(FolioError) {
        while true {
            let r = calls.ftruncate(fd, size)
            if r == 0 { return }
            if r != -EINTR { throw .io(operation: "ftruncate", path: path, offset: size, errno: Errno(rawValue: -r)) }
        }
    }

    public func sync() throws(FolioError) {
        while true {
            let r = calls.fsync(fd)
            if r == 0 { return }
            if r != -EINTR { throw .io(operation: "fsync", path: path, offset: nil, errno: Errno(rawValue: -r)) }
        }
    }

    public func close() throws(FolioError) {
        guard !closed else { return }
        closed = true
        // Do not retry close on EINTR: on Linux the descriptor is gone anyway.
        let r = calls.close(fd)
        if r != 0 && r != -EINTR {
            throw .io(operation: "close", path: path, offset: nil, errno: Errno(rawValue: -r))
        }
    }
}
