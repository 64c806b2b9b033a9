#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory a server serves: a request path resolves to a regular file
/// whose real path (symbolic links followed) lies inside it, or to nothing.
public struct ServedDirectory: Sendable {
    /// The directory's real path, without a trailing slash.
    public let root: String

    public init(_ path: String) throws(ServeError) {
        guard let real = Self.realPath(path) else { throw .readFailed("the served directory \(path) does not exist") }
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw .readFailed("\(path) is not a directory")
        }
        root = real == "/" ? "" : real
    }

    /// The absolute path of the regular file `path` names, after symbolic
    /// links; `notFound` if there is none or it lies outside the directory.
    public func resolve(_ path: ServePath) throws(ServeError) -> String {
        guard let real = Self.realPath(root + "/" + path.relative), real.hasPrefix(root + "/") else { throw .notFound }
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw .notFound }
        return real
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
