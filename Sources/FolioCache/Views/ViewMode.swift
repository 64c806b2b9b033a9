/// How a view may be used.
public enum ViewMode: Sendable, Hashable {
    /// Reads only; a write through the view throws `FolioError.readOnlyView`.
    case readOnly
    /// Reads and writes; written pages become dirty, like pages written with
    /// `CachedFile.write`, and are written back by flush, sync, close or
    /// reclaim.
    case readWrite
}
