#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Every error the cache throws. Each names what failed, the file and, where
/// there is one, the byte offset, so a message can be acted on without a
/// debugger.
///
/// System-call failures carry swift-system's `Errno` (`.noSuchFileOrDirectory`,
/// `.ioError`, …); its `rawValue` is the C `errno` code, and `FolioError.errno`
/// gives it for either I/O case.
public enum FolioError: Error, Equatable, CustomStringConvertible {
    /// A caller passed a value the operation cannot take (negative offset,
    /// length that overflows, bad configuration value, bad open options or
    /// permissions, …).
    case invalidArgument(String)
    /// The file could not be opened: the system call's error.
    case openFailed(path: String, errno: Errno)
    /// A system call failed. `offset` is the file offset involved, if any.
    case io(operation: String, path: String, offset: Int64?, errno: Errno)
    /// The backend returned data that cannot be right (e.g. a short read in
    /// the middle of the file that did not reach EOF).
    case corrupt(path: String, offset: Int64, detail: String)
    /// The handle was closed.
    case closed(path: String)
    /// A view touched bytes at or past the end of the file (the `SIGBUS` of a
    /// real mapping): `offset` is the first such byte, `size` the file's size
    /// at the time.
    case beyondEndOfFile(path: String, offset: Int64, size: Int64)
    /// A view was used after `unmap()`.
    case unmapped(path: String)
    /// A write through a view mapped `.readOnly`.
    case readOnlyView(path: String)
    /// The cache was shut down (`PageCache.shutdown()`): no more opens, and
    /// no more operations on the files it closed.
    case shutDown

    /// A change through a handle opened `.readOnly` (`operation`: "write",
    /// "truncate", "map read-write", "discardUnwrittenChanges"), or a
    /// read-write `open` of a file this cache has open read-only only
    /// (`operation`: "open read-write"; its handles share one read-only
    /// descriptor: close them first, or open the first handle read-write).
    case readOnlyFile(path: String, operation: String)

    /// The system error of `.openFailed` and `.io` (its `rawValue` is the C
    /// errno code); nil for the other cases.
    public var errno: Errno? {
        switch self {
        case .openFailed(_, let e), .io(_, _, _, let e): return e
        default: return nil
        }
    }

    /// A one-line message naming what failed: the file, offset and the
    /// system's message and errno where there is one.
    public var description: String {
        switch self {
        case .invalidArgument(let what):
            return "invalid argument: \(what)"
        case .openFailed(let path, let e):
            return "cannot open '\(path)': \(Self.message(e.rawValue)) (errno \(e.rawValue))"
        case .io(let op, let path, let offset, let e):
            let at = offset.map { " at offset \($0)" } ?? ""
            return "\(op) failed on '\(path)'\(at): \(Self.message(e.rawValue)) (errno \(e.rawValue))"
        case .corrupt(let path, let offset, let detail):
            return "bad data from '\(path)' at offset \(offset): \(detail)"
        case .closed(let path):
            return "'\(path)' is closed"
        case .beyondEndOfFile(let path, let offset, let size):
            return "view of '\(path)' touched offset \(offset), at or past the end of the file (size \(size))"
        case .unmapped(let path):
            return "view of '\(path)' used after unmap()"
        case .readOnlyView(let path):
            return "write through a read-only view of '\(path)'"
        case .shutDown:
            return "the page cache was shut down"
        case .readOnlyFile(let path, let operation):
            if operation == "open read-write" {
                return "cannot open '\(path)' read-write: this cache has it open read-only (its handles share one read-only descriptor; close them first)"
            }
            return "\(operation) of '\(path)' through a read-only handle"
        }
    }

    static func message(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "error \(e)" }
        return String(cString: s)
    }
}
