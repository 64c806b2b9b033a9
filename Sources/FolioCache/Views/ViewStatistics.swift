/// What a view's accesses cost, counted per view.
public struct ViewStatistics: Sendable, Equatable {
    /// Accesses that ran the fault path (the page was not mapped in the view,
    /// or its mapping had gone stale, or the access was a write).
    public var faults: UInt64 = 0
    /// Faults that had to read the page from the backend (major faults).
    public var fills: UInt64 = 0
    /// Read accesses served from the view's own mapping of the page, without
    /// a page-table lookup or a lock (a present "page-table entry").
    public var mappedHits: UInt64 = 0
    /// Pages mapped by fault-around (already cached neighbours, trylocked).
    public var faultAroundMapped: UInt64 = 0

    /// All counters zero.
    public init() {}
}
