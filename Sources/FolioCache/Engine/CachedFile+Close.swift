import FolioLocks
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension CachedFile {
    /// Syncs — writes back every dirty page and makes the file durable
    /// (fsync), as `sync()` — then releases the file and its cached pages:
    /// after it returns without error, everything written through this
    /// handle is on disk. If writeback or fsync fails the file stays open
    /// with its dirty data, so nothing is lost: fix the cause and close
    /// again. If only the final close(2) fails, the file is closed anyway
    /// (as close(2) leaves it) and the error is thrown. Closing a closed
    /// handle does nothing.
    ///
    /// A file opened more than once in this cache (`PageCache.open`: one
    /// mapping, several handles): closing a handle that is not the last
    /// syncs the file and lets go of the handle (the file stays open for
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
            try sync()
            if cache.shared.release(mapping, identity) {
                handleClosed.store(true, ordering: .releasing)
                return
            }
            // The others closed meanwhile: this is the last handle now.
        }
        let closeError: FolioError?
        do throws(FolioError) {
            closeError = try closeMapping()
        } catch {
            cache.shared.finishClose(mapping, identity, closed: false)
            throw error
        }
        handleClosed.store(true, ordering: .releasing)
        cache.shared.finishClose(mapping, identity, closed: true)
        cache.logger.debug("closed", metadata: ["folio.path": "\(path)"])
        if let closeError { throw closeError }
    }

    /// The last handle's close: write back, fsync, drop every page, close
    /// the backend. Throws (and leaves the file open, its pages cached) if
    /// writeback or fsync fails; returns the backend's close error, after
    /// which the file is closed all the same.
    func closeMapping() throws(FolioError) -> FolioError? {
        if mapping.isClosed.load(ordering: .acquiring) { return nil }
        var closeError: FolioError? = nil
        try withTailLocked(from: PageIndex(0)) { (folios) throws(FolioError) in
            if isClosed { return }
            try writeBackDirtyPages(locked: folios)
            do throws(FolioError) {
                try mapping.backend.sync()
            } catch {
                mapping.recordWritebackError(error)
                try reportUnseenWritebackError()
            }
            cache.retire(mapping.counters)
            mapping.isClosed.store(true, ordering: .releasing)
            for folio in folios { removeLocked(folio) }
            do throws(FolioError) { try mapping.backend.close() } catch { closeError = error }
        }
        return closeError
    }
}
