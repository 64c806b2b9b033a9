import FolioLocks
import Synchronization

extension CachedFile {
    /// Writes all of `bytes` at `offset`, extending the file if it ends past
    /// EOF (a gap between the old end and `offset` reads as zeros). The data is
    /// in the cache, dirty, when this returns; `flush` or `sync` write it back.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        _ = try checkRange("write", offset: offset, count: bytes.count)
        try checkOpen()
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        defer { cache.reclaimIfNeeded() }
        // A write that only partly covers its first or last page needs that
        // page's old bytes. Read them in before changing anything, so that an
        // I/O error fails the write as a whole. (If such a page is evicted
        // again before its turn and the second read fails, the pages before it
        // stay written: a multi-page write is not atomic, as with POSIX.)
        let firstPage = pageIndex(of: offset)
        let lastPage = pageIndex(of: offset + Int64(bytes.count - 1))
        if offset & Int64(pageSize - 1) != 0 { try prefault(firstPage) }
        if (offset + Int64(bytes.count)) & Int64(pageSize - 1) != 0 && lastPage != firstPage { try prefault(lastPage) }
        var done = 0
        while done < bytes.count {
            let pos = offset + Int64(done)
            let inPage = Int(pos & Int64(pageSize - 1))
            let n = min(bytes.count - done, pageSize - inPage)
            try writePage(pageIndex(of: pos), at: inPage, from: base + done, count: n)
            done += n
        }
    }

    /// Writes `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) throws(FolioError) {
        let result: Result<Void, FolioError> = bytes.withUnsafeBytes { buf in
            Result { () throws(FolioError) in try write(buf, at: offset) }
        }
        try result.get()
    }

    /// Makes sure page `index` is cached (if it lies below EOF).
    func prefault(_ index: PageIndex) throws(FolioError) {
        if let f = mapping.table.lookupAndPin(index) {
            f.unpin()
            return
        }
        _ = try fill(index)
    }

    func writePage(_ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int) throws(FolioError) {
        try withInsertLocks(index) { () throws(FolioError) in
            let pageStart = mapping.offset(of: index)
            while true {
                var inserted = false
                let folio: Folio
                if let found = mapping.table.lookupAndPin(index) {
                    strategy.lockFolio(found)
                    // Recheck after the folio lock (per-page strategies): the
                    // folio may have been evicted, or its fill may have failed,
                    // while we slept (truncate cannot: we hold the invalidate
                    // lock shared). A detached folio is not the page any more.
                    if found.flags.contains(.detached) {
                        strategy.unlockFolio(found)
                        found.unpin()
                        continue
                    }
                    folio = found
                } else {
                    let fresh = newFolio(index)
                    guard insertLocked(fresh) else { continue }
                    folio = fresh
                    inserted = true
                }
                if !folio.flags.contains(.uptodate) {
                    // A partial write into a page that exists in the file needs the
                    // rest of the page first; a full overwrite, or a page wholly
                    // past EOF, does not (the folio is zeroed).
                    let size = mapping.size.load(ordering: .acquiring)
                    if !(inPage == 0 && count == pageSize) && pageStart < size {
                        let want = Int(min(Int64(pageSize), size - pageStart))
                        do throws(FolioError) {
                            _ = try mapping.backend.read(into: UnsafeMutableRawBufferPointer(start: folio.data, count: want), at: pageStart)
                        } catch {
                            if inserted { discardInserted(folio) } else { strategy.unlockFolio(folio); folio.unpin() }
                            throw error
                        }
                        cache.counters.misses.wrappingAdd(1, ordering: .relaxed)
                    }
                }
                if let data = folio.data {
                    (data + inPage).copyMemory(from: src, byteCount: count)
                }
                // Uptodate only once the bytes are in: a view's stale entry
                // for this (recycled) folio validates it by `uptodate`.
                folio.setFlags([.uptodate, .dirty])
                mapping.size.max(pageStart + Int64(inPage + count), ordering: .acquiringAndReleasing)
                if inserted { cache.policy.insert(folio) } else { cache.policy.access(folio) }
                strategy.unlockFolio(folio)
                folio.unpin()
                return
            }
        }
    }
}
