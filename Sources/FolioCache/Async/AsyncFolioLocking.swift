import FolioLocks

/// A strategy whose folio lock a task can wait for without blocking its
/// thread: the waiter is parked in the parking lot as a task
/// (`ParkingLot.parkAsync`) under the strategy's own fairness rules. The
/// per-page strategies (per-page bit, hybrid fair and its presets) conform;
/// the async API's lock waits suspend only for these (docs/async.md) — the
/// per-inode and per-range strategies' waits run on the I/O executor.
public protocol AsyncFolioLocking: LockStrategy {
    /// Takes `folio`'s lock, suspending while it is held. `folio` must be
    /// pinned. Returns false, without the lock, only if the task was
    /// cancelled while it waited.
    func lockFolioAsync(_ folio: Folio) async -> Bool
}

extension PerPageBitLocking: AsyncFolioLocking {
    public func lockFolioAsync(_ folio: Folio) async -> Bool {
        let locked = await BitLock.lockAsync(folio.state, key: folio.lockKey, lot: lot, statistics: statistics)
        // (Resumed perhaps on another thread: to the lock checker this
        // thread took it without waiting, held but unordered.)
        if locked { FolioLockCheck.locked(folio, LockSite(), isTry: true) }
        return locked
    }
}

extension HybridFairLocking: AsyncFolioLocking {
    public func lockFolioAsync(_ folio: Folio) async -> Bool {
        let locked = await HybridLock.lockAsync(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics)
        if locked { FolioLockCheck.locked(folio, LockSite(), isTry: true) }
        return locked
    }
}
