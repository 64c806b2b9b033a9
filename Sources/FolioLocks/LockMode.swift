/// How a reader-writer or range lock is held.
public enum LockMode: Sendable, Hashable, CustomStringConvertible {
    /// Any number of shared holders may overlap.
    case shared
    /// Excludes every other holder of an overlapping range (or of the lock).
    case exclusive

    /// Whether two holders in these modes exclude each other.
    @inlinable public func conflicts(with other: LockMode) -> Bool {
        self == .exclusive || other == .exclusive
    }

    /// `shared` or `exclusive`.
    public var description: String { self == .shared ? "shared" : "exclusive" }
}
