import FolioLocks
import Synchronization

extension PageCache {
    /// Writes a dirty folio's bytes below EOF to the backend. The caller holds
    /// the folio's lock and its whole range (`lockPages(folio.pages)`), which
    /// every writer of its bytes (`write`, view writes, truncate's zeroing)
    /// also holds, so the bytes are stable while they go out. `dirty` is
    /// cleared *before* the I/O (Linux's `folio_clear_dirty_for_io`): a
    /// change that lands after the bytes were taken re-dirties the folio
    /// instead of being marked clean with it. On failure the folio is dirty
    /// again.
    func writeback(_ folio: Folio, of mapping: MappingCore) throws(FolioError) {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "writeback: the folio must be locked")
        let n = mapping.bytesBelow(mapping.size.load(ordering: .acquiring), in: folio)
        folio.clearFlags(.dirty)
        if n > 0, let data = folio.data {
            folio.setFlags(.writeback)
            defer { folio.clearFlags(.writeback) }
            do {
                try mapping.backend.write(UnsafeRawBufferPointer(start: data, count: n), at: mapping.offset(of: folio.index))
            } catch {
                folio.setFlags(.dirty)
                throw error
            }
            counters.writebacks.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
