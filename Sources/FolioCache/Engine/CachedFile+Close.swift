import FolioLocks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension CachedFile {
    /// Flushes, then releases the file and its cached pages. If the flush
    /// fails the file stays open with its dirty data, so nothing is lost:
    /// fix the cause and close again. Closing a closed file does nothing.
    ///
    /// A file opened more than once in this cache (`PageCache.open`: one
    /// mapping, several handles): closing a handle that is not the last
    /// flushes the file and lets go of the handle (the file stays open for
    /// the others, its pages cached); the last close does the above.
    public func close() throws(FolioError) {
        if isClosed { return }
        // One close of a handle at a time (a second concurrent close waits
        // for the first, then finds the handle closed or — the first failed
        // — tries itself).
        while !handleClosing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            usleep(100)
        }
        defer { handleClosing.store(false, ordering: .releasing) }
        if isClosed { return }
        let identity = mapping.backend.identity
        while cache.shared.beginClose(mapping, identity) == .notLast {
            try flush()
            if cache.shared.release(mapping, identity) {
                handleClosed.store(true, ordering: .releasing)
                return
            }
            // The others closed meanwhile: this is the last handle now.
        }
        do throws(FolioError) {
            try closeMapping()
        } catch {
            cache.shared.finishClose(mapping, identity, closed: false)
            throw error
        }
        handleClosed.store(true, ordering: .releasing)
        cache.shared.finishClose(mapping, identity, closed: true)
    }

    /// The last handle's close: write back, drop every page, close the backend.
    func closeMapping() throws(FolioError) {
        if mapping.isClosed.load(ordering: .acquiring) { return }
        try withTailLocked(from: PageIndex(0)) { (folios) throws(FolioError) in
            if isClosed { return }
            try writeBackDirtyPages(locked: folios)
            mapping.isClosed.store(true, ordering: .releasing)
            for folio in folios { removeLocked(folio) }
            try mapping.backend.close()
        }
    }
}
