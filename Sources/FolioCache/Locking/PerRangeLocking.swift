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
/// - Cost: zero per page; per file one `RangeLock`. Each lock/unlock takes the
///   range lock's short internal lock and walks the outstanding requests of
///   that file — more than a bit lock, less than it costs to serialize writers
///   to different pages.
/// - Reclaim: `tryLockPages` over the folio's pages, exclusive.
public struct PerRangeLocking: LockStrategy {
    public let lot: ParkingLot
    public let statistics: LockStatistics

    public init(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) {
        self.lot = lot
        self.statistics = statistics
    }

    public var kind: LockStrategyKind { .perRange }
    public static var locksFolios: Bool { false }

    public func makeMappingLock() -> RangeLock { RangeLock(lot: lot, statistics: statistics) }

    @inlinable public func lockFolio(_ folio: Folio) {}
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration) -> Bool { true }
    @inlinable public func tryLockFolio(_ folio: Folio) -> Bool { true }
    @inlinable public func unlockFolio(_ folio: Folio) {}

    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: RangeLock) -> RangeLock.Token {
        mapping.lock(pages.rawRange, mode)
    }
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: RangeLock) -> RangeLock.Token? {
        mapping.tryLock(pages.rawRange, mode)
    }
    @inlinable public func unlockPages(_ guard: RangeLock.Token, in mapping: RangeLock) { mapping.unlock(`guard`) }

    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: RangeLock) {}
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: RangeLock) -> Bool { true }
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: RangeLock) {}
}
