import FolioLocks
import Synchronization

extension CachedFile {
    /// Writes every page dirtied before this call back to the file. The first
    /// error (including one from an earlier background writeback of this file)
    /// is thrown after trying all pages; pages that failed stay dirty.
    public func flush() throws(FolioError) {
        try checkOpen()
        try writeBackDirtyPages(locked: nil)
    }

    /// `flush`, then makes the file durable (fsync): after it returns,
    /// everything written before it is on disk.
    public func sync() throws(FolioError) {
        try flush()
        try mapping.backend.sync()
    }

    /// Writes back dirty folios in index order. With `locked`, the caller
    /// holds every page lock of the file and these are all its folios,
    /// locked (close); otherwise each dirty folio is locked here in turn,
    /// with its whole range (as reclaim locks it).
    func writeBackDirtyPages(locked: [Folio]?) throws(FolioError) {
        var firstError = mapping.takePendingError()
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
