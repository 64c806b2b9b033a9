import FolioLocks
import Synchronization

extension PageCache {
    /// Writes a dirty folio's dirty bytes below EOF to the backend: the
    /// whole folio for order 0, each run of dirty pages for a large folio
    /// (its per-page dirty bits, `Folio+Dirty.swift`). The caller holds the
    /// folio's lock and its whole range (`lockPages(folio.pages)`), which
    /// every writer of its bytes (`write`, view writes, truncate's zeroing)
    /// also holds, so the bytes are stable while they go out. `dirty` is
    /// cleared *before* the I/O (Linux's `folio_clear_dirty_for_io`): a
    /// change that lands after the bytes were taken re-dirties the folio
    /// instead of being marked clean with it. On failure every page that was
    /// dirty is dirty again.
    func writeback(_ folio: Folio, of mapping: MappingCore) throws(FolioError) {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "writeback: the folio must be locked")
        let n = mapping.bytesBelow(mapping.size.load(ordering: .acquiring), in: folio)
        let runs = folio.dirtyRuns()
        folio.clearDirty()
        guard n > 0, let data = folio.data else { return }
        folio.setFlags(.writeback)
        defer { folio.clearFlags(.writeback) }
        let shift = folio.pageShift
        var wrote = false
        for run in runs {
            let start = run.lowerBound << shift
            let end = min(run.upperBound << shift, n)
            if end <= start { break }
            do {
                try mapping.backend.write(
                    UnsafeRawBufferPointer(start: data + start, count: end - start),
                    at: mapping.offset(of: folio.index) + Int64(start))
                wrote = true
            } catch {
                for run in runs { folio.markDirty(pages: folio.index.advanced(by: Int64(run.lowerBound))..<folio.index.advanced(by: Int64(run.upperBound))) }
                throw error
            }
        }
        if wrote {
            counters.writebacks.wrappingAdd(1, ordering: .relaxed)
            mapping.counters.writebacks.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
