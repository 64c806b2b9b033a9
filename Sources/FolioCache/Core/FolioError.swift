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
        }
    }

    static func message(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "error \(e)" }
        return String(cString: s)
    }
}
