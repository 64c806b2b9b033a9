import FolioLocks

// The built-in strategies' suspending waits (`LockStrategy.waitsSuspend`):
// the async API's lock waits park the task in the parking lot under the
// strategy's own fairness rules (docs/async.md). Each strategy waits
// suspended at its real level — the folio lock (per-page bit, hybrid fair
// and its presets) or the page range (per-inode, per-range) — and takes the
// other level's no-op at once.

extension PerPageBitLocking {
    /// True: the async API's lock waits suspend the task.
    public static var waitsSuspend: Bool { true }

    /// The folio's lock bit, the task parked while it is held
    /// (`BitLock.lockAsync`); false only if the task was cancelled.
    public func lockFolioAsync(_ folio: Folio) async -> Bool {
        let locked = await BitLock.lockAsync(folio.state, key: folio.lockKey, lot: lot, statistics: statistics)
        // (Resumed perhaps on another thread: to the lock checker this
        // thread took it without waiting, held but unordered.)
        if locked { FolioLockCheck.locked(folio, LockSite(), isTry: true) }
        return locked
    }

    /// Nothing to take (the folio lock is this strategy's): returns at once.
    public func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock) async -> NoPagesGuard? {
        NoPagesGuard()
    }
}

extension HybridFairLocking {
    /// True: the async API's lock waits suspend the task.
    public static var waitsSuspend: Bool { true }

    /// The folio's hybrid lock, the task parked while it is held under the
    /// policy's bounds (`HybridLock.lockAsync`); false only if the task was
    /// cancelled.
    public func lockFolioAsync(_ folio: Folio) async -> Bool {
        let locked = await HybridLock.lockAsync(folio.state, key: folio.lockKey, lot: lot, policy: policy, statistics: statistics)
        if locked { FolioLockCheck.locked(folio, LockSite(), isTry: true) }
        return locked
    }

    /// Nothing to take (the folio lock is this strategy's): returns at once.
    public func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock) async -> NoPagesGuard? {
        NoPagesGuard()
    }
}

extension PerInodeLocking {
    /// True: the async API's lock waits suspend the task.
    public static var waitsSuspend: Bool { true }

    /// Nothing to take (the page range is this strategy's lock): true at once.
    public func lockFolioAsync(_ folio: Folio) async -> Bool { true }

    /// The file's rw lock in `mode`, the task parked while it waits
    /// (`ReaderWriterLock.lockAsync`).
    public func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: ReaderWriterLock) async -> LockMode? {
        await mapping.lockAsync(mode) ? mode : nil
    }
}

extension PerRangeLocking {
    /// True: the async API's lock waits suspend the task.
    public static var waitsSuspend: Bool { true }

    /// Nothing to take (the page range is this strategy's lock): true at once.
    public func lockFolioAsync(_ folio: Folio) async -> Bool { true }

    /// The range in `mode`, the task parked on its node while earlier
    /// conflicting ranges are held (`RangeLock.lockAsync`).
    public func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: RangeLock) async -> RangeLock.Token? {
        await mapping.lockAsync(pages.rawRange, mode)
    }
}
