import Hummingbird

/// Why a request was not served, and the status it gets.
public enum ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request path is malformed or climbs out of the directory: 400.
    case badPath(String)
    /// No such regular file below the directory: 404.
    case notFound
    /// The file exists but reading it failed: 500 (the message is logged,
    /// not sent).
    case readFailed(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .badPath: .badRequest
        case .notFound: .notFound
        case .readFailed: .internalServerError
        }
    }

    public var description: String {
        switch self {
        case .badPath(let why): "bad path: \(why)"
        case .notFound: "not found"
        case .readFailed(let why): "read failed: \(why)"
        }
    }
}
