import FolioLocks
import Synchronization

extension CachedFile {
    /// Writes every page dirtied before this call back to the file; pages
    /// that failed stay dirty. After trying all pages it throws the latest
    /// writeback error of this file that this handle has not reported yet —
    /// its own, or one of background writeback, eviction or another handle's
    /// flush since its last report: every handle of the file hears of every
    /// failure once (errseq).
    public func flush() throws(FolioError) {
        try checkOpen()
        try writeBackDirtyPages(locked: nil)
    }

    /// `flush`, then makes the file durable (fsync): after it returns,
    /// everything written before it is on disk.
    public func sync() throws(FolioError) {
        try flush()
        do throws(FolioError) {
            try mapping.backend.sync()
        } catch {
            // Every handle's next flush or sync hears of it too.
            mapping.recordWritebackError(error)
            try reportUnseenWritebackError()
        }
    }

    /// Writes back dirty folios in index order. With `locked`, the caller
    /// holds every page lock of the file and these are all its folios,
    /// locked (close); otherwise each dirty folio is locked here in turn,
    /// with its whole range (as reclaim locks it).
    func writeBackDirtyPages(locked: [Folio]?) throws(FolioError) {
        let holding = locked != nil
        let dirty = locked.map { $0.filter { $0.flags.contains(.dirty) } } ?? mapping.table.pinnedFolios(where: { $0.flags.contains(.dirty) })
        for folio in dirty {
            defer { if !holding { folio.unpin() } }
            var pagesGuard: Strategy.PagesGuard? = nil
            if !holding {
                pagesGuard = strategy.lockPages(folio.pages, .exclusive, in: mapping.pageLock)
                strategy.lockFolio(folio)
            }
            // Recheck under the lock: truncated, evicted (after its own
            // writeback) or already written back meanwhile.
            let state = folio.flags
            if !state.contains(.detached) && state.contains(.dirty) {
                do { try cache.writeback(folio, of: mapping) } catch { mapping.recordWritebackError(error) }
            }
            if let pagesGuard {
                strategy.unlockFolio(folio)
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            }
        }
        try reportUnseenWritebackError()
    }

    /// Throws the latest writeback error of the file this handle has not
    /// reported, and marks it reported.
    func reportUnseenWritebackError() throws(FolioError) {
        var seen = seenErrors.load(ordering: .acquiring)
        while true {
            let (error, now) = mapping.unseenError(after: seen)
            guard let error else { return }
            let (exchanged, current) = seenErrors.compareExchange(expected: seen, desired: now, ordering: .acquiringAndReleasing)
            if exchanged { throw error }
            seen = current  // another caller of this handle reported it
        }
    }
}
