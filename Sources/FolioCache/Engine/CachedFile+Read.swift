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
            // Per-page strategies copy up to the end of the folio under its
            // one lock (a large folio: many pages per lookup); per-inode and
            // per-range lock the page range before the lookup, one page.
            let left = Strategy.locksFolios ? buffer.count - done : min(buffer.count - done, pageSize - inPage)
            let want = min(left, Int(min(size - pos, Int64(Int.max))))
            let n = try readPage(pageIndex(of: pos), from: inPage, count: want, into: base + done)
            if n == 0 { break }  // the file shrank under us
            done += n
        }
        return done
    }

    /// Reads up to `count` bytes at `offset`.
    ///
    /// The array holds what was read: fewer bytes at end of file, none at or
    /// past it. It is sized by the file, not by `count`, so a huge `count`
    /// costs nothing (clamped to EOF first; EOF may still move while the
    /// read runs, and the result is then shorter).
    @inlinable
    public func read(count: Int, at offset: Int64) throws(FolioError) -> [UInt8] {
        _ = try checkRange("read", offset: offset, count: count)
        try checkOpen()
        let available = max(0, mapping.size.load(ordering: .acquiring) - offset)
        var out = [UInt8](repeating: 0, count: Int(min(Int64(count), available)))
        let result: Result<Int, FolioError> = out.withUnsafeMutableBytes { buf in
            Result { () throws(FolioError) -> Int in try read(into: buf, at: offset) }
        }
        out.removeSubrange(try result.get()...)
        return out
    }

    /// Copies up to `count` bytes from `inPage` of page `index`, faulting the
    /// page in if needed: to the end of the folio that holds the page at
    /// most. Returns the bytes copied (fewer at the folio's end or if EOF
    /// moved down).
    @inlinable
    func readPage(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) throws(FolioError) -> Int {
        // The optimistic hit (per-page strategies, unless configured off): a
        // copy without the lock, validated by the folio's version
        // (CachedFile+OptimisticRead.swift). Readers of one page share it.
        if Strategy.locksFolios, cache.optimisticReads,
           let n = readOptimistically(index, from: inPage, count: count, into: dst) {
            return n
        }
        // The locked hit (per-page strategies): a lock-free lookup that
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
        // The hit of per-inode and per-range: the page held shared keeps its
        // folio in the table, so it needs no pin (`copyUnderPageRange`).
        if !Strategy.locksFolios, let n = readUnderPageRange(index, from: inPage, count: count, into: dst) {
            return n
        }
        while true {
            let pagesGuard = strategy.lockPages(onePage(index), .shared, in: mapping.pageLock)
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({ $0.lookupAndPinUnretained(index) }) else {
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                // Not cached: fill it and copy from the folio the fill hands
                // back, still locked (a miss is an insertion, not an access:
                // no access is recorded) — unless the file shrank below it
                // meanwhile (then this read ends here).
                switch try fill(index) {
                case .filled(let folio, let pages):
                    let n = folio._withUnsafeGuaranteedRef { copyFilled($0, index, from: inPage, count: count, into: dst) }
                    finishFill(folio, pages: pages)
                    return n
                case .pastEOF:
                    return 0
                case .lostRace:
                    continue
                }
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

    /// The read hit of per-inode and per-range: page `index` locked shared,
    /// copied as `copyUnderPageRange` does, unlocked. Nil if that found
    /// nothing (the caller takes the ordinary path, which locks again).
    /// The file keeps its mapping alive: borrowing it spares a retain and a
    /// release of the page lock object around the unlock — atomics on the
    /// line of the lock's fields, which every reader of the file reads (with
    /// them, two threads reading *different* pages of one file did not scale).
    @inlinable @inline(__always)
    func readUnderPageRange(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
        Unmanaged.passUnretained(mapping)._withUnsafeGuaranteedRef { mapping -> Int? in
            let pagesGuard = strategy.lockPages(onePage(index), .shared, in: mapping.pageLock)
            defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
            return copyUnderPageRange(index, from: inPage, count: count, into: dst, table: mapping.table)
        }
    }

    /// The read hit of per-inode and per-range, with page `index` held in the
    /// page lock (either mode): the folio looked up without a pin
    /// (`PageTable.lookupUnderPageRange` says why none is needed) and copied.
    /// Nil if the lookup did not find it at once (not cached, compressed, a
    /// slot that moved): the caller takes the pinning path.
    @inlinable @inline(__always)
    func copyUnderPageRange(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer, table: PageTable) -> Int? {
        guard let found = Unmanaged.passUnretained(table)._withUnsafeGuaranteedRef({ $0.lookupUnderPageRange(index) }) else {
            return nil
        }
        return found._withUnsafeGuaranteedRef { copyLocked($0, index, from: inPage, count: count, into: dst) }
    }

    /// The copy of a read hit, with the folio pinned and locked through the
    /// strategy: bytes copied (and the access recorded), or nil if the folio
    /// is no longer the page.
    @inlinable
    func copyLocked(_ folio: Folio, _ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
        // Recheck after the folio lock (per-page strategies): while this
        // thread slept on the lock the folio may have been truncated away,
        // evicted, or failed its fill; it is then detached and no longer the
        // page at `index` — and while this thread pins it, it cannot be
        // recycled for another page (the pool takes back only unpinned
        // folios), so "not detached" means "still this file's folio for
        // `index`". The caller retries the lookup. (Per-inode and per-range
        // took their lock before the lookup, which excludes all of that.)
        let state = folio.flags
        if state.contains(.detached) || !state.contains(.uptodate) { return nil }
        let n = copyFilled(folio, index, from: inPage, count: count, into: dst)
        cache.recordAccess(folio)
        mapping.counters.hits.add(1)  // striped: no line shared with other readers
        return n
    }

    /// Copies from a locked, uptodate folio holding page `index`: at most
    /// `count` bytes from `inPage`, fewer if the folio or the file ends
    /// inside the range.
    @inlinable @inline(__always)
    func copyFilled(_ folio: Folio, _ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int {
        // EOF may have moved down since the caller looked; truncate needs this
        // folio's lock to do that, so under it the size is stable for this
        // page.
        let available = mapping.size.load(ordering: .acquiring) - mapping.offset(of: index) - Int64(inPage)
        guard available > 0, let src = folio.bytes(of: index) else { return 0 }
        let inFolio = folio.byteCount - folio.byteOffset(of: index) - inPage
        let n = min(count, inFolio, Int(min(available, Int64(count))))
        dst.copyMemory(from: src + inPage, byteCount: n)
        return n
    }
}
