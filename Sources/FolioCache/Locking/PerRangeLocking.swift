import FolioLocks

/// **Per-range**: a range lock per file over page indices, taken before the
/// page-table lookup.
///
/// - Guarantees: changes to overlapping page ranges exclude each other (shared
///   ranges overlap); disjoint ranges proceed in parallel. Truncation locks
///   `[new EOF, ∞)` exclusively, which covers pages that do not exist yet: no
///   recheck needed.
/// - Fairness: strict arrival order among overlapping conflicting requests
///   (`RangeLock`); no starvation of wide ranges by narrow ones.
/// - Cost: zero per page; per file one `RangeLock` (1 088 bytes of fast slots
///   beside its list). While nothing conflicts, a lock/unlock is the range
///   lock's fast path (a slot CAS and a scan of the slot words; an exchange),
///   with no internal lock, so writers of disjoint ranges of one file share no
///   written cache line, nor do readers of one page; a conflict takes the
///   short internal lock and walks the outstanding requests of that file.
///   A read hit does not pin the folio (`PageTable.lookupUnderPageRange`).
/// - Reclaim: `tryLockPages` over the folio's pages, exclusive.
public struct PerRangeLocking: LockStrategy {
    /// The parking lot the per-file range locks park in.
    public let lot: ParkingLot
    /// The range locks' slow-path counters.
    public let statistics: LockStatistics

    /// The per-range strategy, parking in `lot` and counting in `statistics`.
    public init(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) {
        self.lot = lot
        self.statistics = statistics
    }

    public var kind: LockStrategyKind { .perRange }
    public static var locksFolios: Bool { false }

    /// The file's range lock over page indices (lock class `range`).
    public func makeMappingLock() -> RangeLock { RangeLock(lot: lot, statistics: statistics, lockClass: .range) }

    @inlinable public func lockFolio(_ folio: Folio, at site: LockSite) {}
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration, at site: LockSite) -> Bool { true }
    @inlinable public func tryLockFolio(_ folio: Folio, at site: LockSite) -> Bool { true }
    @inlinable public func unlockFolio(_ folio: Folio, at site: LockSite) {}

    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: RangeLock, at site: LockSite) -> RangeLock.Token {
        mapping.lock(pages.rawRange, mode, at: site)
    }
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: RangeLock, at site: LockSite) -> RangeLock.Token? {
        mapping.tryLock(pages.rawRange, mode, at: site)
    }
    @inlinable public func unlockPages(_ guard: RangeLock.Token, in mapping: RangeLock, at site: LockSite) { mapping.unlock(`guard`, at: site) }

    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: RangeLock, at site: LockSite) {}
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: RangeLock, at site: LockSite) -> Bool { true }
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: RangeLock, at site: LockSite) {}
}
