import FolioLocks
import Synchronization

extension CachedFile {
    /// Flushes, then releases the file and its cached pages. If the flush
    /// fails the file stays open with its dirty data, so nothing is lost:
    /// fix the cause and close again. Closing a closed file does nothing.
    public func close() throws(FolioError) {
        if isClosed { return }
        try withTailLocked(from: PageIndex(0)) { (folios) throws(FolioError) in
            if isClosed { return }
            try writeBackDirtyPages(locked: folios)
            mapping.isClosed.store(true, ordering: .releasing)
            for folio in folios { removeLocked(folio) }
            try mapping.backend.close()
        }
    }
}
