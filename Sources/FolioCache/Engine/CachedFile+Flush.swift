import FolioLocks
import Synchronization

extension CachedFile {
    /// Writes every page dirtied before this call back to the file. The first
    /// error (including one from an earlier background writeback of this file)
    /// is thrown after trying all pages; pages that failed stay dirty.
    public func flush() throws(FolioError) {
        try checkOpen()
        try writeBackDirtyPages(holdingTail: false)
    }

    /// `flush`, then makes the file durable (fsync): after it returns,
    /// everything written before it is on disk.
    public func sync() throws(FolioError) {
        try flush()
        try mapping.backend.sync()
    }

    /// Writes back dirty folios in index order. With `holdingTail` the caller
    /// holds every page lock of the file (close); otherwise each folio is
    /// locked here in turn, with its whole range (as reclaim locks it).
    func writeBackDirtyPages(holdingTail: Bool) throws(FolioError) {
        var firstError = mapping.takePendingError()
        for folio in mapping.table.pinnedFolios(where: { $0.flags.contains(.dirty) }) {
            defer { folio.unpin() }
            var pagesGuard: Strategy.PagesGuard? = nil
            if !holdingTail {
                pagesGuard = strategy.lockPages(folio.pages, .exclusive, in: mapping.pageLock)
                strategy.lockFolio(folio)
            }
            // Recheck under the lock: truncated, evicted (after its own
            // writeback) or already written back meanwhile.
            let state = folio.flags
            if !state.contains(.detached) && state.contains(.dirty) {
                do { try cache.writeback(folio, of: mapping) } catch { if firstError == nil { firstError = error } }
            }
            if let pagesGuard {
                strategy.unlockFolio(folio)
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            }
        }
        if let firstError { throw firstError }
    }
}
