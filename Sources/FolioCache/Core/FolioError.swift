#if canImport(Glibc)
import Glibc
#endif

/// Every error the cache throws. Each names what failed, the file and, where
/// there is one, the byte offset, so a message can be acted on without a
/// debugger.
public enum FolioError: Error, Equatable, CustomStringConvertible {
    /// A caller passed a value the operation cannot take (negative offset,
    /// length that overflows, bad configuration value, …).
    case invalidArgument(String)
    /// The file could not be opened.
    case openFailed(path: String, errno: Int32)
    /// A system call failed. `offset` is the file offset involved, if any.
    case io(operation: String, path: String, offset: Int64?, errno: Int32)
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

    public var description: String {
        switch self {
        case .invalidArgument(let what):
            return "invalid argument: \(what)"
        case .openFailed(let path, let e):
            return "cannot open '\(path)': \(Self.message(e)) (errno \(e))"
        case .io(let op, let path, let offset, let e):
            let at = offset.map { " at offset \($0)" } ?? ""
            return "\(op) failed on '\(path)'\(at): \(Self.message(e)) (errno \(e))"
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
        }
    }

    static func message(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "error \(e)" }
        return String(cString: s)
    }
}
