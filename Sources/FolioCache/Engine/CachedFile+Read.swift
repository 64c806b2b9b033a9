import FolioLocks
import Synchronization

extension CachedFile {
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read
    /// (fewer only at end of file, 0 at or past it).
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        if offset < 0 || offset > Int64.max >> 2 || buffer.count > Int.max >> 2 {
            _ = try checkRange("read", offset: offset, count: buffer.count)
        }
        try checkOpen()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var done = 0
        defer { cache.reclaimIfNeeded() }
        while done < buffer.count {
            let pos = offset + Int64(done)
            let size = mapping.size.load(ordering: .acquiring)
            if pos >= size { break }
            let inPage = Int(pos & Int64(pageSize - 1))
            let want = min(buffer.count - done, pageSize - inPage, Int(min(size - pos, Int64(Int.max))))
            let n = try readPage(pageIndex(of: pos), from: inPage, count: want, into: base + done)
            if n == 0 { break }  // the file shrank under us
            done += n
        }
        return done
    }

    /// Reads up to `count` bytes at `offset`.
    public func read(count: Int, at offset: Int64) throws(FolioError) -> [UInt8] {
        _ = try checkRange("read", offset: offset, count: count)
        var out = [UInt8](repeating: 0, count: count)
        let result: Result<Int, FolioError> = out.withUnsafeMutableBytes { buf in
            Result { () throws(FolioError) -> Int in try read(into: buf, at: offset) }
        }
        out.removeSubrange(try result.get()...)
        return out
    }

    /// Copies `count` bytes from `inPage` of page `index`, faulting the page in
    /// if needed. Returns the bytes copied (fewer if EOF moved down).
    @inlinable
    func readPage(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) throws(FolioError) -> Int {
        // The hit fast path (per-page strategies): a lock-free lookup that
        // pins and locks the folio in one atomic, and one atomic to undo both.
        // Anything unusual — a miss, a locked or waited-for folio, a slot that
        // moved — falls through to the ordinary path below.
        if Strategy.locksFolios,
           // (`mapping` keeps the table alive; borrowing it spares a retain.)
           let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({
               $0.lookupLockFree(index, acquire: { strategy.tryPinAndLockFolio($0) }, release: { strategy.unlockAndUnpinFolio($0) })
           }) {
            let copied = found._withUnsafeGuaranteedRef { folio -> Int? in
                let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
                strategy.unlockAndUnpinFolio(folio)
                return n
            }
            if let copied { return copied }
        }
        while true {
            let pagesGuard = strategy.lockPages(onePage(index), .shared, in: mapping.pageLock)
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({ $0.lookupAndPinUnretained(index) }) else {
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                // Not cached: fill it, unless the file shrank below it
                // meanwhile (then this read ends here).
                if try !fill(index) { return 0 }
                continue
            }
            // Pinned, and alive because the pool owns every folio: use it
            // without retaining it (no reference counting on a hit).
            let copied: Int? = found._withUnsafeGuaranteedRef { folio in
                strategy.lockFolio(folio)
                let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
                strategy.unlockAndUnpinFolio(folio)
                return n
            }
            strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            if let copied { return copied }
        }
    }

    /// The copy of a read hit, with the folio pinned and locked through the
    /// strategy: bytes copied, or nil if the folio is no longer the page.
    @inlinable
    func copyLocked(_ folio: Folio, _ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
        // Recheck after the folio lock (per-page strategies): while this
        // thread slept on the lock the folio may have been truncated away,
        // evicted, or failed its fill; it is then detached and no longer the
        // page at `index` — a folio is never re-inserted at another index
        // while anyone pins it, so identity is the generation. The caller
        // retries the lookup. (Per-inode and per-range took their lock before
        // the lookup, which excludes all of that.)
        let state = folio.flags
        if state.contains(.detached) || !state.contains(.uptodate) { return nil }
        // EOF may have moved down since the caller looked; truncate needs this
        // folio's lock to do that, so under it the size is stable for this
        // page.
        let pageStart = mapping.offset(of: index)
        let available = mapping.size.load(ordering: .acquiring) - pageStart - Int64(inPage)
        let n = available <= 0 ? 0 : min(count, Int(min(available, Int64(count))))
        if n > 0, let data = folio.data {
            dst.copyMemory(from: data + inPage, byteCount: n)
        }
        cache.recordHit(folio)
        return n
    }

    /// Brings page `index` into the cache: inserts a new folio *locked*, so
    /// that concurrent readers of the same page wait on it instead of reading
    /// it twice, reads it from the backend, marks it uptodate, unlocks it.
    /// Returns false if the page lies past EOF; true once the page is cached
    /// (by this call or, if another thread inserted it first, by that one):
    /// the caller retries its lookup.
    @usableFromInline
    func fill(_ index: PageIndex) throws(FolioError) -> Bool {
        try withInsertLocks(index) { () throws(FolioError) -> Bool in
            let pageStart = mapping.offset(of: index)
            let size = mapping.size.load(ordering: .acquiring)
            guard pageStart < size else { return false }
            let folio = newFolio(index)
            guard insertLocked(folio) else { return true }
            let want = Int(min(Int64(pageSize), size - pageStart))
            do throws(FolioError) {
                // Bytes past the backend's end (data never written back, a
                // hole) stay zero: the folio was zeroed.
                _ = try mapping.backend.read(into: UnsafeMutableRawBufferPointer(start: folio.data, count: want), at: pageStart)
            } catch {
                // A failed read caches nothing.
                discardInserted(folio)
                throw error
            }
            folio.setFlags(.uptodate)
            cache.counters.misses.wrappingAdd(1, ordering: .relaxed)
            cache.policy.insert(folio)
            strategy.unlockFolio(folio)
            folio.unpin()
            return true
        }
    }

    /// A new (or recycled), pinned, zeroed folio of this mapping.
    func newFolio(_ index: PageIndex) -> Folio {
        cache.pool.take(index: index, mapping: mapping)
    }

    /// Locks `folio` (nobody else can see it yet, so this never waits) and
    /// inserts it. Returns false — with the folio unlocked, unpinned and
    /// dropped — if the index was taken meanwhile.
    func insertLocked(_ folio: Folio) -> Bool {
        strategy.lockFolio(folio)
        if let existing = mapping.table.insertOrPinExisting(folio) {
            existing.unpin()
            strategy.unlockFolio(folio)
            // Never published: back to the pool once nobody pins it (a
            // lock-free lookup cannot have, but the rule is the same).
            folio.setFlags(.detached)
            folio.markUnlisted()
            folio.unpin()
            return false
        }
        cache.residentBytes.wrappingAdd(pageSize, ordering: .relaxed)
        return true
    }

    /// Undoes `insertLocked` for a folio whose fill failed (still locked and
    /// pinned by the caller; never given to the eviction policy).
    func discardInserted(_ folio: Folio) {
        _ = mapping.table.remove(folio, onlyIfUnpinned: false)
        cache.residentBytes.wrappingSubtract(pageSize, ordering: .relaxed)
        folio.markUnlisted()
        strategy.unlockFolio(folio)
        folio.unpin()
    }
}
