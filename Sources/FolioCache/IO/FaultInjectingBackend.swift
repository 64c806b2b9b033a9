#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Any backend with faults injected into its calls by a `FaultInjector`:
/// a failing call throws the `FolioError.io` a real one would (naming the
/// file, the offset and the errno) without reaching the wrapped backend; a
/// short read returns a prefix of what the wrapped backend read; a short
/// write writes a prefix and then fails with `EIO` (a torn write). For
/// tests of what a cache — and its user — do when I/O fails
/// (docs/reliability.md).
///
/// `open` faults belong below a `POSIXBackend` (`FaultInjector.systemCalls`);
/// here the first call a cache makes, `size()` at open, stands for it.
public final class FaultInjectingBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: both stored properties are immutable and
    // Sendable (the wrapped backend is, by its protocol).

    /// The wrapped backend, which the calls that get no fault reach.
    public let base: any IOBackend
    /// Decides which calls fail, and how.
    public let injector: FaultInjector

    /// Wraps `base`, failing the calls `injector` picks.
    public init(wrapping base: any IOBackend, injector: FaultInjector) {
        self.base = base
        self.injector = injector
    }

    /// The wrapped backend's path.
    public var path: String { base.path }
    /// The wrapped backend's identity.
    public var identity: FileIdentity? { base.identity }

    func failure(_ operation: String, _ e: Int32, _ offset: Int64?) -> FolioError {
        .io(operation: operation, path: base.path, offset: offset, errno: Errno(rawValue: e))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        switch injector.decide(.read, offset: offset) {
        case .error(let e): throw failure("pread", e, offset)
        case .shortTransfer:
            let n = try base.read(into: buffer, at: offset)
            return n / 2
        case nil: return try base.read(into: buffer, at: offset)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        switch injector.decide(.write, offset: offset) {
        case .error(let e): throw failure("pwrite", e, offset)
        case .shortTransfer:
            let half = bytes.count / 2
            try base.write(UnsafeRawBufferPointer(rebasing: bytes[..<half]), at: offset)
            throw failure("pwrite", EIO, offset + Int64(half))
        case nil: try base.write(bytes, at: offset)
        }
    }

    public func size() throws(FolioError) -> Int64 {
        if case .error(let e) = injector.decide(.size) { throw failure("fstat", e, nil) }
        return try base.size()
    }

    public func truncate(to size: Int64) throws(FolioError) {
        if case .error(let e) = injector.decide(.truncate, offset: size) { throw failure("ftruncate", e, size) }
        try base.truncate(to: size)
    }

    public func sync() throws(FolioError) {
        if case .error(let e) = injector.decide(.sync) { throw failure("fsync", e, nil) }
        try base.sync()
    }

    public func close() throws(FolioError) {
        // A failed close still releases the file, as close(2) does on Linux.
        try base.close()
        if case .error(let e) = injector.decide(.close) { throw failure("close", e, nil) }
    }
}
