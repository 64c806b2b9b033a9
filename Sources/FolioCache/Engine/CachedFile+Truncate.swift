import FolioLocks
import Synchronization

extension CachedFile {
    /// Sets the file's size. Shrinking drops cached pages past the new end
    /// (dirty ones are discarded, as truncation means) and zeroes the tail of
    /// the page that contains it; growing makes the new range read as zeros.
    /// The backing file is resized before the cache changes, so a failure
    /// leaves both as they were.
    public func truncate(to newSize: Int64) throws(FolioError) {
        guard newSize >= 0 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is negative") }
        guard newSize <= Int64.max >> 1 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is too large") }
        try checkOpen()
        try withTailLocked(from: pageIndex(of: newSize)) { () throws(FolioError) in
            try checkOpen()
            try mapping.backend.truncate(to: newSize)
            dropCachedPages(pastEOF: newSize)
            mapping.size.store(newSize, ordering: .releasing)
        }
    }

    /// Runs `body` with every way of reaching pages from `first` on shut:
    /// the invalidate lock exclusive (no page can be inserted), the page range
    /// `[first, ∞)` exclusive, and every cached folio there locked, in
    /// ascending index order (the lock order of docs/locking.md).
    func withTailLocked<T>(from first: PageIndex, _ body: () throws(FolioError) -> T) throws(FolioError) -> T {
        strategy.lockInvalidate(.exclusive, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.exclusive, in: mapping.pageLock) }
        let pagesGuard = strategy.lockPages(first..<PageIndex.max, .exclusive, in: mapping.pageLock)
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        let folios = mapping.table.pinnedFolios(from: first)
        for f in folios { strategy.lockFolio(f) }
        defer {
            for f in folios.reversed() {
                strategy.unlockFolio(f)
                f.unpin()
            }
        }
        return try body()
    }

    /// With the tail locked: removes folios wholly past `eof`, zeroes the part
    /// past `eof` of the folio containing it (cached bytes past EOF are always
    /// zero, which is what makes a later grow read zeros).
    func dropCachedPages(pastEOF eof: Int64) {
        for folio in mapping.table.pinnedFolios(from: pageIndex(of: eof)) {
            defer { folio.unpin() }
            let start = mapping.offset(of: folio.index)
            if start >= eof {
                removeLocked(folio)
            } else if let data = folio.data {
                let keep = Int(eof - start)
                (data + keep).initializeMemory(as: UInt8.self, repeating: 0, count: pageSize - keep)
            }
        }
    }

    /// Removes a folio whose page lock the caller holds from the table, the
    /// policy and the budget. Readers that pinned it keep a valid object; the
    /// last reference frees it.
    func removeLocked(_ folio: Folio) {
        if mapping.table.remove(folio, onlyIfUnpinned: false) {
            cache.policy.remove(folio)
            folio.markUnlisted()
            cache.residentBytes.wrappingSubtract(pageSize << Int(folio.order), ordering: .relaxed)
        }
    }
}
