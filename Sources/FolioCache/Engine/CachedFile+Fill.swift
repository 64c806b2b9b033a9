import FolioLocks
import Synchronization

/// What `fill` did.
@usableFromInline
enum FillOutcome<PagesGuard> {
    /// The folio it inserted and read in: uptodate, given to the eviction
    /// policy, still **pinned and locked** by the caller — the folio lock and
    /// `pages` (the page's range, exclusive) are held; the invalidate lock is
    /// not. The caller uses it, then `finishFill`.
    case filled(Unmanaged<Folio>, pages: PagesGuard)
    /// The page lies at or past EOF: nothing inserted, nothing held.
    case pastEOF
    /// Another thread inserted the page first: nothing held; look it up again.
    case lostRace
}

extension CachedFile {
    /// Brings page `index` into the cache — **the** fill path of reads, view
    /// faults and write prefaults (writes of pages that are not cached insert
    /// through `insertFolio` too, in `writePage`). Makes room in the budget
    /// first (holding no lock), then, under the insert locks — the
    /// invalidate lock shared, so a concurrent truncate cannot miss the
    /// insert, and the page's range exclusive — inserts a new folio *locked*,
    /// so that concurrent users of the page wait on it instead of reading it
    /// twice, reads it from the backend, marks it uptodate and gives it to
    /// the eviction policy (an insertion, not an access). The folio comes
    /// back still pinned and locked (`FillOutcome.filled`), so the caller
    /// uses it without a second lookup or lock round.
    @usableFromInline
    func fill(_ index: PageIndex) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        // The policy sees the miss before room is made for it (S3-FIFO's
        // ghost is consulted at lookup, as in the reference).
        let hint = cache.policy.prepareInsert(file: mapping.id, index: index, order: 0)
        cache.makeRoom(for: pageSize)
        strategy.lockInvalidate(.shared, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        let pages = strategy.lockPages(onePage(index), .exclusive, in: mapping.pageLock)
        let outcome: FillOutcome<Strategy.PagesGuard>
        do throws(FolioError) {
            outcome = try fillLocked(index, pages: pages, hint: hint)
        } catch {
            strategy.unlockPages(pages, in: mapping.pageLock)
            throw error
        }
        if case .filled = outcome {} else { strategy.unlockPages(pages, in: mapping.pageLock) }
        return outcome
    }

    /// `fill` with the insert locks held.
    func fillLocked(_ index: PageIndex, pages: Strategy.PagesGuard, hint: InsertionHint) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        try checkOpen()
        let size = mapping.size.load(ordering: .acquiring)
        guard mapping.offset(of: index) < size else { return .pastEOF }
        guard let folio = insertFolio(index, zeroed: false) else { return .lostRace }
        do throws(FolioError) {
            try readIn(folio, size: size)
        } catch {
            // A failed read caches nothing.
            discardInserted(folio)
            throw error
        }
        folio.setFlags(.uptodate)
        cache.policy.insert(folio, hint: hint)
        return .filled(Unmanaged.passUnretained(folio), pages: pages)
    }

    /// Ends the use of a `.filled` folio: unlocks and unpins it, releases
    /// its pages.
    @inlinable
    func finishFill(_ folio: Unmanaged<Folio>, pages: Strategy.PagesGuard) {
        folio._withUnsafeGuaranteedRef { strategy.unlockAndUnpinFolio($0) }
        strategy.unlockPages(pages, in: mapping.pageLock)
    }

    /// Reads a newly inserted (locked) folio's bytes below EOF `size` from
    /// the backend and zeroes the rest: bytes past the backend's end (data
    /// never written back, a hole) and past EOF read as zeros. Counts a miss.
    func readIn(_ folio: Folio, size: Int64) throws(FolioError) {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "readIn: the folio must be locked")
        guard let data = folio.data else { return }
        let want = mapping.bytesBelow(size, in: folio)
        var got = 0
        if want > 0 {
            got = try mapping.backend.read(into: UnsafeMutableRawBufferPointer(start: data, count: want), at: mapping.offset(of: folio.index))
            cache.counters.misses.wrappingAdd(1, ordering: .relaxed)
        }
        if got < folio.byteCount {
            (data + got).initializeMemory(as: UInt8.self, repeating: 0, count: folio.byteCount - got)
        }
    }

    /// With the insert locks held: a new folio for page `index`, locked,
    /// pinned, inserted into the page table and charged to the budget — or
    /// nil (nothing changed) if the index was taken meanwhile. Its bytes are
    /// zero with `zeroed`, else unspecified: the caller fills every byte
    /// (`readIn`, or a write of the whole folio) before it marks it
    /// uptodate, and gives it to the policy (`prepareInsert` — before room
    /// was made, where the caller could — and `insert`) once it is.
    func insertFolio(_ index: PageIndex, zeroed: Bool) -> Folio? {
        let folio = cache.pool.take(index: index, mapping: mapping, zeroed: zeroed)
        // Nobody else can see it yet, so this never waits.
        strategy.lockFolio(folio)
        if let existing = mapping.table.insertOrPinExisting(folio) {
            existing.unpin()
            strategy.unlockFolio(folio)
            // Never published: back to the pool once nobody pins it (a
            // lock-free lookup cannot have, but the rule is the same).
            folio.setFlags(.detached)
            folio.markUnlisted()
            folio.unpin()
            return nil
        }
        cache.residentBytes.wrappingAdd(folio.byteCount, ordering: .relaxed)
        return folio
    }

    /// Undoes `insertFolio` for a folio whose fill failed (still locked and
    /// pinned by the caller; never given to the eviction policy).
    func discardInserted(_ folio: Folio) {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "discardInserted: the folio must be locked")
        let removed = mapping.table.remove(folio, onlyIfUnpinned: false)
        assert(removed, "discardInserted: the folio was not in the table")
        cache.residentBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
        folio.markUnlisted()
        strategy.unlockFolio(folio)
        folio.unpin()
    }
}
