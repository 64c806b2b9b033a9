import FolioLocks

/// **Hybrid fair**: the per-page bit lock plus bounded optimistic spinning and
/// bounded unfairness (`HybridLockPolicy`): a woken waiter that has lost
/// `unfairness` races (default 5) or waited `maxWait` (default 1 ms) gets the
/// lock handed to it by the next unlocker (by default woken ahead first, so
/// that it is running when it does).
///
/// - Guarantees: as `PerPageBitLocking`.
/// - Fairness: no acquisition follows more than `unfairness` lost races;
///   `.fair` (unfairness 0) acquires in arrival order; `.barging` has no bound.
/// - Cost: zero bytes per page beyond the state word; lock = one atomic or,
///   unlock = one `lock xadd`; one `ReaderWriterLock` per file (invalidate).
/// - Recheck: required after `lockFolio`, as for the plain bit lock.
public struct HybridFairLocking: LockStrategy {
    /// The parking lot folio-lock waiters and the per-file locks park in.
    public let lot: ParkingLot
    /// Spinning, unfairness and wait bounds of the folio locks.
    public let policy: HybridLockPolicy
    /// Slow-path counters of the folio locks (the invalidate locks keep none).
    public let statistics: LockStatistics
    /// `.hybridFair`, or the preset this was made as (`.fair`, `.barging`, `.hybridKernel`).
    public let kind: LockStrategyKind

    /// The hybrid with `policy` (default `HybridLockPolicy.hybrid`: no spin,
    /// unfairness 5, max wait 1 ms, a due waiter woken ahead of its handoff).
    public init(policy: HybridLockPolicy = .hybrid, lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) {
        self.init(policy: policy, kind: .hybridFair, lot: lot, statistics: statistics)
    }

    init(policy: HybridLockPolicy, kind: LockStrategyKind, lot: ParkingLot, statistics: LockStatistics) {
        self.policy = policy
        self.kind = kind
        self.lot = lot
        self.statistics = statistics
    }

    /// Strict FIFO handoff, no spinning: the Linux 5.9 page lock that halved
    /// the Apache benchmark.
    public static func fair(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) -> HybridFairLocking {
        HybridFairLocking(policy: .fair, kind: .fair, lot: lot, statistics: statistics)
    }

    /// No fairness bound: wake one waiter and let it race (with the hybrid's spin).
    public static func barging(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) -> HybridFairLocking {
        HybridFairLocking(policy: .barging, kind: .barging, lot: lot, statistics: statistics)
    }

    /// The kernel-faithful hybrid (`HybridLockPolicy.kernel`: at most 5 lost
    /// races, spin 40, no time bound): the Linux 5.9+ page lock.
    public static func kernel(lot: ParkingLot = .shared, statistics: LockStatistics = LockStatistics()) -> HybridFairLocking {
        HybridFairLocking(policy: .kernel, kind: .hybridKernel, lot: lot, statistics: statistics)
    }

    public static var locksFolios: Bool { true }

    public func makeMappingLock() -> ReaderWriterLock {
        ReaderWriterLock(lot: lot, policy: .hybrid, lockClass: .invalidate)
    }

    // (`FolioLockCheck` tells the `DebugLocks` checker; empty without it.)

    @inlinable public func lockFolio(_ folio: Folio, at site: LockSite) {
        FolioLockCheck.willLock(folio, site)
        HybridLock.lock(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics)
        FolioLockCheck.locked(folio, site, isTry: false)
    }
    /// (A timed wait gives up instead of deadlocking: the checker records
    /// it like a trylock, held but unordered.)
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration, at site: LockSite) -> Bool {
        let locked = HybridLock.lock(folio.state, key: folio.lockKey, lot: lot, policy: policy, timeout: timeout, statistics: statistics)
        if locked { FolioLockCheck.locked(folio, site, isTry: true) }
        return locked
    }
    @inlinable public func tryLockFolio(_ folio: Folio, at site: LockSite) -> Bool {
        let locked = HybridLock.tryLock(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics)
        if locked { FolioLockCheck.locked(folio, site, isTry: true) }
        return locked
    }
    @inlinable public func unlockFolio(_ folio: Folio, at site: LockSite) {
        guard FolioLockCheck.willUnlock(folio, site) else { return }
        HybridLock.unlock(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics)
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
        folio.unpinned(previousState: HybridLock.unlock(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics, subtracting: Folio.onePin))
    }

    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> NoPagesGuard { NoPagesGuard() }
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> NoPagesGuard? { NoPagesGuard() }
    @inlinable public func unlockPages(_ guard: NoPagesGuard, in mapping: ReaderWriterLock, at site: LockSite) {}

    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) { mapping.lock(mode, at: site) }
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) -> Bool { mapping.tryLock(mode, at: site) }
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: ReaderWriterLock, at site: LockSite) { mapping.unlock(mode, at: site) }
}
