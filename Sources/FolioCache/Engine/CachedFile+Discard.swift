import FolioLocks

extension CachedFile {
    /// Forgets every change to the file that has not been written back:
    /// drops all its cached pages, dirty or not, and takes the file's size
    /// from the backend again — afterwards the file reads as the backend
    /// holds it. The one way to give up dirty data that cannot be written
    /// (writeback errors otherwise leave pages dirty, to be retried by every
    /// flush, sync and close, docs/reliability.md). Every handle of the file
    /// sees the result; writeback errors already recorded are still
    /// reported once to each handle that has not reported them. Views of
    /// the file fault the pages in again.
    public func discardUnwrittenChanges() throws(FolioError) {
        try checkOpen()
        try checkWritable("discardUnwrittenChanges")
        try withTailLocked(from: PageIndex(0)) { (folios) throws(FolioError) in
            try checkOpen()
            let size = try mapping.backend.size()
            for folio in folios {
                folio.clearDirty()
                removeLocked(folio)
            }
            mapping.size.store(size, ordering: .releasing)
        }
    }
}
