/// What a view access with a throwing closure failed with: the cache's own
/// error, or the closure's. The accessors' common core throws this, so that
/// one code path serves the typed (`throws(FolioError)`) and the untyped
/// (`throws`) closures; the public accessors flatten it.
@usableFromInline
enum ViewAccessFailure<E: Error>: Error {
    case folio(FolioError)
    case body(E)

    /// Runs a cache call, wrapping its error.
    @inlinable @inline(__always)
    static func folio<T>(_ call: () throws(FolioError) -> T) throws(ViewAccessFailure<E>) -> T {
        do { return try call() } catch { throw .folio(error) }
    }
}

extension ViewAccessFailure where E == FolioError {
    /// The error, when the closure's errors are `FolioError` too.
    @inlinable @inline(__always)
    var flattened: FolioError {
        switch self {
        case .folio(let e), .body(let e): return e
        }
    }
}

extension ViewAccessFailure {
    /// The error, untyped.
    @inlinable @inline(__always)
    var erased: any Error {
        switch self {
        case .folio(let e): return e
        case .body(let e): return e
        }
    }
}

extension ViewAccessFailure where E == Never {
    /// Runs a core call whose closure cannot throw: its error is the cache's.
    @inlinable @inline(__always)
    static func flatten<T>(_ call: () throws(ViewAccessFailure<Never>) -> T) throws(FolioError) -> T {
        do { return try call() } catch {
            switch error {
            case .folio(let e): throw e
            }
        }
    }
}
