/// Where a mapping's bytes live: a POSIX file, or memory (tests). All calls
/// may be made concurrently from several threads at different offsets.
///
/// Offsets and sizes are in bytes. Implementations retry interrupted calls and
/// short transfers themselves; a thrown error means the operation did not
/// complete, and names the file and offset.
public protocol IOBackend: AnyObject, Sendable {
    /// The file's name for messages (a path, or a label).
    var path: String { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were
    /// read, fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int
    /// Whether `readWithoutBlocking` can ever serve a read (false: the async
    /// API takes every miss of this backend to its I/O threads).
    var readsWithoutBlocking: Bool { get }
    /// Reads as `read` does, but only if that needs no device I/O — the
    /// bytes are in memory (a POSIX file's pages in the OS page cache:
    /// `preadv2` with `RWF_NOWAIT`). Nil if it would have to wait, or on any
    /// error (the blocking `read` that follows reports it). The async API
    /// serves such a miss in the caller's task instead of hopping to its
    /// I/O threads (docs/async.md).
    func readWithoutBlocking(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int?
    /// Writes all of `bytes` at `offset` (extending the file if needed).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError)
    /// The current size of the backing file.
    func size() throws(FolioError) -> Int64
    /// Sets the backing file's size (shrinks or grows with zeros).
    func truncate(to size: Int64) throws(FolioError)
    /// Makes everything written so far durable (fsync).
    func sync() throws(FolioError)
    /// Releases the backing file. Called once.
    func close() throws(FolioError)
    /// Which file this is, if the backend can tell (device and inode): two
    /// opens of one file in one cache share its mapping
    /// (`PageCache.open`). Nil: never shared.
    var identity: FileIdentity? { get }
}

extension IOBackend {
    /// False: by default a backend cannot tell whether a read would wait.
    public var readsWithoutBlocking: Bool { false }
    /// Nil: by default every read may wait.
    public func readWithoutBlocking(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int? { nil }

    /// Nil: by default a backend cannot tell which file it is, so its opens
    /// are never shared.
    public var identity: FileIdentity? { nil }
}

/// A file's identity on its machine: the device and inode `fstat` reports,
/// whatever path reached it.
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The device number (`st_dev`).
    public var device: UInt64
    /// The inode number (`st_ino`).
    public var inode: UInt64
    /// The identity of inode `inode` on device `device`.
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
    /// `device D inode I`.
    public var description: String { "device \(device) inode \(inode)" }
}
