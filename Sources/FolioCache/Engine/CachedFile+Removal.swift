import FolioLocks
import Synchronization

extension CachedFile {
    /// Runs `body` with every way of reaching pages from `first` on shut:
    /// the invalidate lock exclusive (no page can be inserted), the page range
    /// `[first, ∞)` exclusive, and every cached folio there (including one
    /// that starts before `first` and covers it) locked, in ascending index
    /// order (the lock order of docs/locking.md). Truncate and close.
    /// `body` gets those folios (pinned and locked for it: one scan of the
    /// table serves the whole operation).
    func withTailLocked<T>(from first: PageIndex, _ body: ([Folio]) throws(FolioError) -> T) throws(FolioError) -> T {
        strategy.lockInvalidate(.exclusive, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.exclusive, in: mapping.pageLock) }
        let pagesGuard = strategy.lockPages(first..<PageIndex.max, .exclusive, in: mapping.pageLock)
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        let folios = mapping.table.pinnedFolios(from: first)
        for f in folios { strategy.lockFolio(f) }
        defer {
            for f in folios.reversed() {
                strategy.unlockFolio(f)
                f.unpin()
            }
        }
        return try body(folios)
    }

    /// Removes a folio whose lock (and range) the caller holds from the
    /// table, the policy and the budget. Threads that pinned it keep a valid
    /// folio; the last unpin returns it to the pool.
    func removeLocked(_ folio: Folio) {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "removeLocked: the folio must be locked")
        if mapping.table.remove(folio, onlyIfUnpinned: false) {
            cache.forget(folio, of: mapping, evicted: false)
            folio.markUnlisted()
        }
    }
}
