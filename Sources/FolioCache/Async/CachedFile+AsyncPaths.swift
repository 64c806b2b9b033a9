import FolioLocks
import Synchronization

/// The engine's non-blocking and suspending paths for the async API
/// (AsyncCachedFile.swift): the same page table, folios, locks and copies as
/// the synchronous paths — only the waiting differs.
extension CachedFile {
    /// A read hit served without waiting, in the caller's task: the
    /// optimistic copy, else the one-atomic pin-and-lock hit (per-page
    /// strategies); the trylocked page range (per-inode, per-range). The
    /// bytes copied, or nil if serving it would wait (a miss, a locked
    /// folio or range, a slot that moved).
    @inlinable
    func readPageWithoutWaiting(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
        if Strategy.locksFolios {
            if cache.optimisticReads, let n = readOptimistically(index, from: inPage, count: count, into: dst) {
                return n
            }
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({
                $0.lookupLockFree(index, acquire: { strategy.tryPinAndLockFolio($0) }, release: { strategy.unlockAndUnpinFolio($0) })
            }) else { return nil }
            return found._withUnsafeGuaranteedRef { folio -> Int? in
                let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
                strategy.unlockAndUnpinFolio(folio)
                return n
            }
        }
        // (The file keeps its mapping alive: borrowing it spares a retain
        // and release of the page lock — on its contended line — per hit.)
        return Unmanaged.passUnretained(mapping)._withUnsafeGuaranteedRef { mapping -> Int? in
            guard let pagesGuard = strategy.tryLockPages(onePage(index), .shared, in: mapping.pageLock) else { return nil }
            defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
            if let n = copyUnderPageRange(index, from: inPage, count: count, into: dst, table: mapping.table) { return n }
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({ $0.lookupAndPinUnretained(index) }) else {
                return nil
            }
            return found._withUnsafeGuaranteedRef { folio -> Int? in
                guard strategy.tryLockFolio(folio) else {
                    folio.unpin()
                    return nil
                }
                let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
                strategy.unlockAndUnpinFolio(folio)
                return n
            }
        }
    }

    /// A read of a cached page that would wait for its lock: waits for it
    /// *suspended* (`LockStrategy.lockFolioAsync` / `lockPagesAsync`), then
    /// copies as the locked hit does. Per-page strategies pin the folio and
    /// wait for its lock (then recheck); per-inode and per-range wait for the
    /// page's range shared, then look the page up (no recheck: the range was
    /// taken before the lookup). `.miss` if the page is not cached (or the
    /// strategy cannot wait suspended): the caller fills it or hops.
    func readPageSuspending(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) async throws -> SuspendedRead {
        guard Strategy.waitsSuspend else { return .miss }
        if Strategy.locksFolios {
            guard let folio = mapping.table.lookupAndPin(index) else { return .miss }
            guard await strategy.lockFolioAsync(folio) else {
                folio.unpin()
                throw CancellationError()
            }
            let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
            strategy.unlockAndUnpinFolio(folio)
            return n.map { .copied($0) } ?? .retry
        }
        // A miss (the common way here) takes no lock.
        guard isCached(index) else { return .miss }
        guard let pagesGuard = await strategy.lockPagesAsync(onePage(index), .shared, in: mapping.pageLock) else {
            throw CancellationError()
        }
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        if let n = copyUnderPageRange(index, from: inPage, count: count, into: dst, table: mapping.table) { return .copied(n) }
        guard let folio = mapping.table.lookupAndPin(index) else { return .miss }
        guard strategy.tryLockFolio(folio) else {  // (no folio lock here: always taken)
            folio.unpin()
            return .miss
        }
        let n = copyLocked(folio, index, from: inPage, count: count, into: dst)
        strategy.unlockAndUnpinFolio(folio)
        return n.map { .copied($0) } ?? .retry
    }

    /// Whether the page is in the page table now (a racy answer: a hint).
    func isCached(_ index: PageIndex) -> Bool {
        guard let folio = mapping.table.lookupAndPin(index) else { return false }
        folio.unpin()
        return true
    }

    /// A read miss served in the caller's task (async API), when nothing
    /// of it waits: the backend has the bytes in memory
    /// (`IOBackend.readWithoutBlocking`), the room is made from clean
    /// victims, the locks are free (`fillWithoutWaiting`). Copies as the
    /// synchronous miss does.
    func readMissWithoutWaiting(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> MissWithoutWaiting {
        guard mapping.backend.readsWithoutBlocking else { return .hop(nil) }
        // Per-inode and per-range: a page cached since `readPageSuspending`
        // looked is no miss (the policy is not asked); the hop reads it.
        if !Strategy.locksFolios && isCached(index) { return .hop(nil) }
        switch fillWithoutWaiting(index) {
        case .filled(let folio, let pages):
            let n = folio._withUnsafeGuaranteedRef { copyFilled($0, index, from: inPage, count: count, into: dst) }
            finishFill(folio, pages: pages)
            cache.counters.missesWithoutHop.wrappingAdd(1, ordering: .relaxed)
            return .copied(n)
        case .pastEOF:
            return .copied(0)
        case .lostRace:
            return .retry
        case .wouldBlock(let hint):
            return .hop(hint)
        }
    }

    /// What `readMissWithoutWaiting` did.
    enum MissWithoutWaiting {
        case copied(Int)
        /// Another thread filled the page first: look it up again.
        case retry
        /// It would wait: fill it off the pool (`readMissed`), with the
        /// policy's hint if the policy was asked.
        case hop(InsertionHint?)
    }

    /// The hop of an async read whose page `index` missed in its task
    /// (`readMissWithoutWaiting` → `.hop`): fills the page — with the
    /// policy's `hint` from the task, so the policy is asked once per miss —
    /// copies its piece (`count` bytes from `inPage`), then reads the rest of
    /// `buffer` as `read(into:at:)` does. Blocks: runs on the I/O executor.
    func readMissed(_ index: PageIndex, hint: InsertionHint?, from inPage: Int, count: Int,
                    into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        guard let hint, let base = buffer.baseAddress else { return try read(into: buffer, at: offset) }
        let first: Int
        switch try fill(index, hint: hint) {
        case .filled(let folio, let pages):
            first = folio._withUnsafeGuaranteedRef { copyFilled($0, index, from: inPage, count: count, into: base) }
            finishFill(folio, pages: pages)
        case .pastEOF:
            first = 0
        case .lostRace:
            first = try readPage(index, from: inPage, count: count, into: base)
        }
        if first == 0 || first == buffer.count {
            cache.reclaimIfNeeded()
            return first
        }
        return first + (try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[first...]), at: offset + Int64(first)))
    }

    /// What `readPageSuspending` did.
    enum SuspendedRead {
        case copied(Int)
        /// The folio was no longer the page after the wait: look it up again.
        case retry
        /// Not cached (or no suspending lock): fill it off the pool.
        case miss
    }

    /// A write to a cached page without waiting, in the caller's task: the
    /// invalidate lock, the page range and the folio lock all trylocked (the
    /// synchronous write's order). Whether it wrote; false changes nothing.
    func writePageWithoutWaiting(_ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int) -> Bool {
        guard let folio = mapping.table.lookupAndPin(index) else { return false }
        guard strategy.tryLockInvalidate(.shared, in: mapping.pageLock) else {
            folio.unpin()
            return false
        }
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        guard let pagesGuard = strategy.tryLockPages(onePage(index), .exclusive, in: mapping.pageLock) else {
            folio.unpin()
            return false
        }
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        guard strategy.tryLockFolio(folio) else {
            folio.unpin()
            return false
        }
        return writeLockedHit(folio, index, at: inPage, from: src, count: count)
    }

    /// A write to a cached page that would wait for its lock, waiting
    /// suspended. Per-page strategies wait for the folio lock, then only
    /// trylock the invalidate lock (out of order, so only a trylock: a
    /// truncate waiting for it makes this give up). Per-inode and per-range
    /// (whose invalidate lock is a no-op, covered by the range) wait for the
    /// page's range exclusive, then look the page up. Whether it wrote;
    /// false (not cached, or an invalidate lock taken): the caller hops.
    func writePageSuspending(_ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int) async throws -> Bool {
        guard Strategy.waitsSuspend else { return false }
        if Strategy.locksFolios {
            guard let folio = mapping.table.lookupAndPin(index) else { return false }
            guard await strategy.lockFolioAsync(folio) else {
                folio.unpin()
                throw CancellationError()
            }
            guard strategy.tryLockInvalidate(.shared, in: mapping.pageLock) else {
                strategy.unlockAndUnpinFolio(folio)
                return false
            }
            defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
            return writeLockedHit(folio, index, at: inPage, from: src, count: count)
        }
        guard isCached(index) else { return false }
        guard let pagesGuard = await strategy.lockPagesAsync(onePage(index), .exclusive, in: mapping.pageLock) else {
            throw CancellationError()
        }
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        // The engine's order (invalidate → pages) with a no-op invalidate
        // lock: trylocked after the range, which cannot wait on it.
        guard strategy.tryLockInvalidate(.shared, in: mapping.pageLock) else { return false }
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        guard let folio = mapping.table.lookupAndPin(index) else { return false }
        guard strategy.tryLockFolio(folio) else {
            folio.unpin()
            return false
        }
        return writeLockedHit(folio, index, at: inPage, from: src, count: count)
    }

    /// The hit branch of `writePageLocked`, for a folio pinned and locked by
    /// the caller with the invalidate lock (and page range) held: rechecks,
    /// changes the bytes, marks the page dirty, grows the size. Unlocks and
    /// unpins the folio either way; false if it was no longer a live,
    /// uptodate page (nothing written).
    func writeLockedHit(_ folio: Folio, _ index: PageIndex, at inPage: Int, from src: UnsafeRawPointer, count: Int) -> Bool {
        let flags = folio.flags
        guard !flags.contains(.detached), flags.contains(.uptodate), checkOpenQuietly() else {
            strategy.unlockAndUnpinFolio(folio)
            return false
        }
        if flags.contains(.compressedCopy) { cache.dropCompressedCopy(folio, of: mapping) }
        if let dst = folio.bytes(of: index) {
            folio.changingBytes(versioned: Strategy.locksFolios) {
                (dst + inPage).copyMemory(from: src, byteCount: count)
            }
        }
        folio.markDirty(index)
        let end = mapping.offset(of: index) + Int64(inPage + count)
        if mapping.size.load(ordering: .relaxed) < end { mapping.size.max(end, ordering: .acquiringAndReleasing) }
        cache.recordAccess(folio)
        strategy.unlockAndUnpinFolio(folio)
        return true
    }

    func checkOpenQuietly() -> Bool {
        !(handleClosed.load(ordering: .acquiring) || mapping.isClosed.load(ordering: .acquiring))
    }
}
