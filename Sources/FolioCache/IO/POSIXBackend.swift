#if canImport(Glibc)
import Glibc
#endif

/// A real file through pread / pwrite / fstat / ftruncate / fsync, retrying
/// `EINTR` and short transfers.
public final class POSIXBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: `fd` is immutable after init; the system calls used
    // are thread-safe at distinct or overlapping offsets (pread/pwrite do not
    // move a shared file position). `closed` is set once by `close`, which the
    // cache calls only after all other use of the backend has ended.

    public let path: String
    let fd: Int32
    var closed = false

    /// How to open the file.
    public struct Options: OptionSet, Sendable {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Create the file if it does not exist.
        public static let create = Options(rawValue: 1)
        /// Empty the file on open.
        public static let truncate = Options(rawValue: 2)
        /// Fail if the file exists (with `create`).
        public static let exclusive = Options(rawValue: 4)
    }

    /// Opens `path` for reading and writing.
    public init(path: String, options: Options = [.create], permissions: mode_t = 0o644) throws(FolioError) {
        guard !path.isEmpty else { throw .invalidArgument("empty file path") }
        var flags = O_RDWR | O_CLOEXEC
        if options.contains(.create) { flags |= O_CREAT }
        if options.contains(.truncate) { flags |= O_TRUNC }
        if options.contains(.exclusive) { flags |= O_EXCL }
        var fd: Int32
        repeat { fd = open(path, flags, permissions) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw .openFailed(path: path, errno: errno) }
        var st = stat()
        let statted = fstat(fd, &st) == 0
        if statted && (st.st_mode & S_IFMT) == S_IFDIR {
            _ = Glibc.close(fd)
            throw .openFailed(path: path, errno: EISDIR)
        }
        self.path = path
        self.fd = fd
        self.identity = statted ? FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) : nil
    }

    /// The device and inode of the open file (read once, at open).
    public let identity: FileIdentity?

    deinit {
        if !closed { _ = Glibc.close(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + Int64(done)))
            if n > 0 {
                done += n
            } else if n == 0 {
                break  // end of file
            } else if errno != EINTR {
                throw .io(operation: "pread", path: path, offset: offset + Int64(done), errno: errno)
            }
        }
        return done
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + Int64(done)))
            if n > 0 {
                done += n
            } else if n == 0 {
                throw .io(operation: "pwrite", path: path, offset: offset + Int64(done), errno: EIO)
            } else if errno != EINTR {
                throw .io(operation: "pwrite", path: path, offset: offset + Int64(done), errno: errno)
            }
        }
    }

    public func size() throws(FolioError) -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(operation: "fstat", path: path, offset: nil, errno: errno) }
        return Int64(st.st_size)
    }

    public func truncate(to size: Int64) throws(FolioError) {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw .io(operation: "ftruncate", path: path, offset: size, errno: errno) }
        }
    }

    public func sync() throws(FolioError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw .io(operation: "fsync", path: path, offset: nil, errno: errno) }
        }
    }

    public func close() throws(FolioError) {
        guard !closed else { return }
        closed = true
        // Do not retry close on EINTR: on Linux the descriptor is gone anyway.
        if Glibc.close(fd) != 0 && errno != EINTR {
            throw .io(operation: "close", path: path, offset: nil, errno: errno)
        }
    }
}
