import FolioLocks
import Logging

extension PageCache {
    /// One pass of the background flusher: writes back the dirty folios of
    /// every open file, try-locking each (a busy folio waits for the next
    /// pass). Runs on the flusher's queue (and in tests, on theirs).
    package func backgroundWritebackPass() {
        for mapping in openFiles.current() {
            writeBackInBackground(mapping)
        }
    }

    func writeBackInBackground(_ mapping: Mapping<Strategy>) {
        for folio in mapping.table.pinnedFolios(where: { $0.flags.contains(.dirty) }) {
            defer { folio.unpin() }
            // The folio's whole range, as every whole-folio operation locks it.
            guard let pagesGuard = strategy.tryLockPages(folio.pages, .exclusive, in: mapping.pageLock) else { continue }
            defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
            guard strategy.tryLockFolio(folio) else { continue }
            defer { strategy.unlockFolio(folio) }
            // Recheck under the lock: truncated, evicted or closed (close
            // detaches every folio under all page locks before it closes the
            // backend), or written back by a flush meanwhile.
            let state = folio.flags
            guard !state.contains(.detached), state.contains(.dirty) else { continue }
            do {
                try writeback(folio, of: mapping)
            } catch {
                // Stays dirty; the file's next flush, sync or close reports it.
                mapping.recordWritebackError(error)
                logger.debug("background writeback failed", metadata: ["folio.path": "\(mapping.path)", "folio.error": "\(error)"])
            }
        }
    }
}
