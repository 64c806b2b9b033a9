import FolioLocks
import Synchronization

extension CachedFile {
    /// Writes all of `bytes` at `offset`, extending the file if it ends past
    /// EOF (a gap between the old end and `offset` reads as zeros). The data is
    /// in the cache, dirty, when this returns; `flush` or `sync` write it back.
    // A client's call arrives unspecialized; the built-in strategies run a
    // copy specialized in this module (one metadata comparison).
    // Unspecialized, the write path copies the generic lock values (a retain
    // and release of the file's shared lock object per lock call) and looks
    // up metadata — what serialized disjoint writers of one file
    // (docs/performance.md, "Range writers"). (`@_specialize(exported:)`
    // did this before; its symbols went missing from some release builds —
    // the fuzzers', with ASan — and failed the link.)
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        if Strategy.self == HybridFairLocking.self {
            return try unsafeDowncast(self, to: CachedFile<HybridFairLocking>.self).writeBody(bytes, at: offset)
        }
        if Strategy.self == PerPageBitLocking.self {
            return try unsafeDowncast(self, to: CachedFile<PerPageBitLocking>.self).writeBody(bytes, at: offset)
        }
        if Strategy.self == PerInodeLocking.self {
            return try unsafeDowncast(self, to: CachedFile<PerInodeLocking>.self).writeBody(bytes, at: offset)
        }
        if Strategy.self == PerRangeLocking.self {
            return try unsafeDowncast(self, to: CachedFile<PerRangeLocking>.self).writeBody(bytes, at: offset)
        }
        try writeBody(bytes, at: offset)
    }

    /// `write(_:at:)`'s body.
    func writeBody(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        _ = try checkRange("write", offset: offset, count: bytes.count)
        try checkWritable("write")
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
    // Inlinable, so a client's call is specialized for its strategy and
    // reaches the raw-buffer write, which runs the module's specialized body
    // for the built-in strategies (not inlinable, it ran the engine
    // unspecialized: twice the generic form's time).
    @inlinable
    public func write(_ bytes: [UInt8], at offset: Int64) throws(FolioError) {
        let result: Result<Void, FolioError> = bytes.withUnsafeBytes { buf in
            Result { () throws(FolioError) in try write(buf, at: offset) }
        }
        try result.get()
    }

    /// Makes sure page `index` is cached (if it lies below EOF).
    func prefault(_ index: PageIndex) throws(FolioError) {
        while true {
            if let f = mapping.table.lookupAndPin(index) {
                f.unpin()
                return
            }
            switch try fill(index) {
            case .filled(let folio, let pages):
                finishFill(folio, pages: pages)
                return
            case .pastEOF:
                return
            case .lostRace:
                continue
            }
        }
    }

    func writePage(_ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int) throws(FolioError) {
        var hint: InsertionHint? = nil
        while true {
            let outcome = try withInsertLocks(index) { () throws(FolioError) -> WriteOutcome in
                try writePageLocked(index, at: inPage, from: src, count: count, hint: hint)
            }
            if case .decompress(let folio) = outcome {
                decompress(folio)
                folio.unpin()
                continue
            }
            guard case .needsRoom(let h) = outcome else { return }
            // The page is not cached and adding it would take the cache over
            // its budget: make room holding no lock, as `fill` does (the
            // policy saw the miss first), then insert whether or not reclaim
            // found enough to evict.
            hint = h
            cache.makeRoom(for: pageSize)
        }
    }

    /// What `writePageLocked` did.
    enum WriteOutcome {
        case written
        /// Nothing changed: the page is not cached and there is no room for
        /// it; the policy's hint for its insertion.
        case needsRoom(InsertionHint)
        /// Nothing changed: the page is in this compressed folio (pinned for
        /// the caller), to decompress before the write.
        case decompress(Folio)
    }

    /// `writePage` with the insert locks held. A page that is not cached is
    /// inserted if there is room or if `hint` is given (the room was made).
    func writePageLocked(_ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int, hint given: InsertionHint?) throws(FolioError) -> WriteOutcome {
        let pageStart = mapping.offset(of: index)
        while true {
            let folio: Folio
            let inserted: Bool
            var hint = InsertionHint.none
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
                // Every folio in the table is uptodate once its inserter
                // unlocks it (a failed fill is detached first).
                assert(found.flags.contains(.uptodate), "writePage: a cached, unlocked folio that is not uptodate")
                folio = found
                inserted = false
            } else {
                hint = given ?? cache.policy.prepareInsert(file: mapping.id, index: index, order: 0)
                guard given != nil || cache.hasRoom(for: pageSize) else { return .needsRoom(hint) }
                // A write of the whole page needs none of its old bytes; a
                // partial one needs the rest of the page (read in, or zeros
                // past EOF) — the same path a read miss takes.
                let whole = inPage == 0 && count == pageSize
                let fresh: Folio
                switch insertFolio(index, zeroed: false) {
                case .inserted(let f): fresh = f
                case .taken: continue
                case .compressed(let f): return .decompress(f)
                }
                if !whole {
                    do throws(FolioError) {
                        try readIn(fresh, size: mapping.size.load(ordering: .acquiring))
                    } catch {
                        discardInserted(fresh)
                        throw error
                    }
                }
                folio = fresh
                inserted = true
            }
            // The bytes change: a kept compressed copy goes.
            if folio.flags.contains(.compressedCopy) { cache.dropCompressedCopy(folio, of: mapping) }
            if let dst = folio.bytes(of: index) {
                // Optimistic readers validate against the version (a fresh,
                // not yet uptodate folio has none).
                folio.changingBytes(versioned: Strategy.locksFolios && !inserted) {
                    (dst + inPage).copyMemory(from: src, byteCount: count)
                }
            }
            // Uptodate only once the bytes are in: a view's stale entry
            // for this (recycled) folio validates it by `uptodate`.
            folio.markDirty(index)
            if inserted { folio.setFlags(.uptodate) }
            // Only a write that grows the file writes the shared size word (an
            // atomic max is a locked read-modify-write even when it changes
            // nothing: one contended cache line for every writer of the file).
            let end = pageStart + Int64(inPage + count)
            if mapping.size.load(ordering: .relaxed) < end { mapping.size.max(end, ordering: .acquiringAndReleasing) }
            if inserted { cache.policy.insert(folio, hint: hint) } else { cache.recordAccess(folio) }
            strategy.unlockFolio(folio)
            folio.unpin()
            return .written
        }
    }
}
