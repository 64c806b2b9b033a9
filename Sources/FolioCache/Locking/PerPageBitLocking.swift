import FolioLocks

/// **Per-page bit**: each folio is locked by a bit in its own state word;
/// waiters park in a hashed parking lot; an unlock wakes one waiter, which must
/// race for the bit again (barging, the Linux page lock before 5.9).
///
/// - Guarantees: one thread at a time changes a folio; a file's invalidate lock
///   keeps truncation and page insertion apart.
/// - Fairness: none; a waiter can lose its race without bound. Highest
///   throughput under contention, worst tail wait.
/// - Cost: zero bytes per page beyond the state word; lock = load + CAS,
///   unlock = one `lock xadd`; one `ReaderWriterLock` per file (invalidate).
/// - Recheck: required after `lockFolio` (the folio may have changed identity
///   while the thread slept).
public struct PerPageBitLocking: LockStrategy {
    /// The parking lot folio-lock waiters and the per-file locks park in.
    public let lot: ParkingLot
    /// Slow-path counters of the folio locks (the invalidate locks keep none).
    public let statistics: LockStatistics

    /// The per-page bit strategy, parking in `lot` and counting in `statistics`.
    public init(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) {
        self.lot = lot
        self.statistics = statistics
    }

    public var kind: LockStrategyKind { .perPageBit }
    public static var locksFolios: Bool { true }

    /// The file's invalidate lock (shared: insert pages; exclusive: truncate).
    public func makeMappingLock() -> ReaderWriterLock {
        ReaderWriterLock(lot: lot, policy: .hybrid, lockClass: .invalidate)
    }

    // (`FolioLockCheck` tells the `DebugLocks` checker; empty without it.)

    @inlinable public func lockFolio(_ folio: Folio, at site: LockSite) {
        FolioLockCheck.willLock(folio, site)
        BitLock.lock(folio.state, key: folio.lockKey, lot: lot, statistics: statistics)
        FolioLockCheck.locked(folio, site, isTry: false)
    }
    /// (A timed wait gives up instead of deadlocking: the checker records
    /// it like a trylock, held but unordered.)
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration, at site: LockSite) -> Bool {
        let locked = BitLock.lock(folio.state, key: folio.lockKey, lot: lot, timeout: timeout, statistics: statistics)
        if locked { FolioLockCheck.locked(folio, site, isTry: true) }
        return locked
    }
    @inlinable public func tryLockFolio(_ folio: Folio, at site: LockSite) -> Bool {
        let locked = BitLock.tryLock(folio.state)
        if locked { FolioLockCheck.locked(folio, site, isTry: true) }
        return locked
    }
    @inlinable public func unlockFolio(_ folio: Folio, at site: LockSite) {
        guard FolioLockCheck.willUnlock(folio, site) else { return }
        BitLock.unlock(folio.state, key: folio.lockKey, lot: lot)
    }

    /// One compare-and-swap: pin + lock bit, only while the folio is live and
    /// the lock is free with nobody parked (the uncontended acquire).
    @inlinable public func tryPinAndLockFolio(_ folio: Folio, at site: LockSite) -> Bool {
        let locked = BitLock.tryLock(folio.state, adding: Folio.onePin, ifMasked: Folio.liveMask, equals: Folio.publishedBit)
        if locked { FolioLockCheck.locked(folio, site, isTry: true) }
        return locked
    }
    /// One `lock xadd` drops the lock bit and the pin together.
    @inlinable public func unlockAndUnpinFolio(_ folio: Folio, at site: LockSite) {
        guard FolioLockCheck.willUnlock(folio, site) else { return }
        folio.unpinned(previousState: BitLock.unlock(folio.state, key: folio.lockKey, lot: lot, subtracting: Folio.onePin))
    }

    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> NoPagesGuard { NoPagesGuard() }
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> NoPagesGuard? { NoPagesGuard() }
    @inlinable public func unlockPages(_ guard: NoPagesGuard, in mapping: ReaderWriterLock, at site: LockSite) {}

    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) { mapping.lock(mode, at: site) }
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> Bool { mapping.tryLock(mode, at: site) }
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) { mapping.unlock(mode, at: site) }
}
