import FolioLocks

/// **Per-inode**: one reader-writer lock per file; every page-state change of
/// the file serializes on it, taken before the page-table lookup.
///
/// - Guarantees: an exclusive holder excludes every other change to the file;
///   shared holders (reads of cached pages) overlap. Truncation needs nothing
///   more: the lock covers indices, not folio objects, so no recheck.
/// - Fairness: eventually fair (`ReaderWriterLock`): readers do not join while
///   anyone is parked; a waiter that lost `unfairness` races or waited
///   `maxWait` is handed the lock.
/// - Cost: O(1) per file (one 8-byte word and its object), zero per page;
///   folio locks are free (no-ops). Writers to different pages of one file
///   serialize — what the load tool's `range-writers` workload measures.
/// - Reclaim: `tryLockPages` try-locks the file's lock exclusively.
public struct PerInodeLocking: LockStrategy {
    /// The parking lot the per-file reader-writer locks park in.
    public let lot: ParkingLot
    /// Spinning, unfairness and wait bounds of the per-file reader-writer locks.
    public let policy: HybridLockPolicy
    /// The per-file locks' slow-path counters (parks, handoffs, lost races, waits).
    public let statistics: LockStatistics

    /// The per-inode strategy: per-file reader-writer locks with `policy`,
    /// parking in `lot` and counting in `statistics`.
    public init(policy: HybridLockPolicy = .hybrid, lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) {
        self.lot = lot
        self.policy = policy
        self.statistics = statistics
    }

    public var kind: LockStrategyKind { .perInode }
    public static var locksFolios: Bool { false }

    /// The file's reader-writer lock (lock class `inode`), with this strategy's policy.
    public func makeMappingLock() -> ReaderWriterLock {
        ReaderWriterLock(lot: lot, policy: policy, statistics: statistics, lockClass: .inode)
    }

    @inlinable public func lockFolio(_ folio: Folio, at site: LockSite) {}
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration, at site: LockSite) -> Bool { true }
    @inlinable public func tryLockFolio(_ folio: Folio, at site: LockSite) -> Bool { true }
    @inlinable public func unlockFolio(_ folio: Folio, at site: LockSite) {}

    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> LockMode {
        mapping.lock(mode, at: site)
        return mode
    }
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> LockMode? {
        mapping.tryLock(mode, at: site) ? mode : nil
    }
    @inlinable public func unlockPages(_ guard: LockMode, in mapping: ReaderWriterLock, at site: LockSite) { mapping.unlock(`guard`, at: site) }

    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) {}
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> Bool { true }
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) {}
}
