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

/// What `fillWithoutWaiting` did.
enum FillWithoutWaitingOutcome<PagesGuard> {
    /// As `FillOutcome.filled`: the folio pinned and locked, `pages` held.
    case filled(Unmanaged<Folio>, pages: PagesGuard)
    /// As `FillOutcome.pastEOF`.
    case pastEOF
    /// Another thread inserted the page first: look it up again.
    case lostRace
    /// A step would have waited: nothing held or cached; fill it off the
    /// pool with this hint (`fill(_:hint:)`).
    case wouldBlock(InsertionHint)
}

/// A miss on a page a compressed folio holds: the folio (pinned), and what
/// the policy said at the miss if it was asked about the folio's own key.
struct CompressedHit {
    let folio: Folio
    let hint: InsertionHint?
}

/// What `insertFolio` did.
enum InsertResult {
    case inserted(Folio)
    case taken
    case compressed(Folio)
}

extension CachedFile {
    /// Brings page `index` into the cache — **the** fill path of reads, view
    /// faults and write prefaults (writes of pages that are not cached insert
    /// through `insertFolio` too, in `writePage`). Chooses the folio's order
    /// (`readaheadOrder`: a large folio for a miss in a sequential stream,
    /// one page otherwise), makes room in the budget first (holding no
    /// lock), then, under the insert locks — the invalidate lock shared, so
    /// a concurrent truncate cannot miss the insert, and the folio's range
    /// exclusive — inserts a new folio *locked*, so that concurrent users of
    /// its pages wait on it instead of reading them twice, reads it from the
    /// backend in one read, marks it uptodate and gives it to the eviction
    /// policy (an insertion, not an access). The folio comes back still
    /// pinned and locked (`FillOutcome.filled`), so the caller uses it
    /// without a second lookup or lock round. `hint`: what the policy said
    /// at this miss when it was asked already (an async miss that began in
    /// its task, `fillWithoutWaiting`): it is asked once per miss.
    ///
    /// A client's call (from the inlined, specialized `read`) arrives here
    /// unspecialized; the built-in strategies run a copy of the fill
    /// specialized in this module (one metadata comparison), as
    /// `AsyncCachedFile.readRest` does — unspecialized, the fill looks up
    /// metadata and retains the file's lock objects at every step.
    @usableFromInline
    func fill(_ index: PageIndex) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        if Strategy.self == HybridFairLocking.self {
            let outcome = try unsafeDowncast(self, to: CachedFile<HybridFairLocking>.self).fill(index, hint: nil)
            return unsafeBitCast(outcome, to: FillOutcome<Strategy.PagesGuard>.self)
        }
        if Strategy.self == PerPageBitLocking.self {
            let outcome = try unsafeDowncast(self, to: CachedFile<PerPageBitLocking>.self).fill(index, hint: nil)
            return unsafeBitCast(outcome, to: FillOutcome<Strategy.PagesGuard>.self)
        }
        if Strategy.self == PerInodeLocking.self {
            let outcome = try unsafeDowncast(self, to: CachedFile<PerInodeLocking>.self).fill(index, hint: nil)
            return unsafeBitCast(outcome, to: FillOutcome<Strategy.PagesGuard>.self)
        }
        if Strategy.self == PerRangeLocking.self {
            let outcome = try unsafeDowncast(self, to: CachedFile<PerRangeLocking>.self).fill(index, hint: nil)
            return unsafeBitCast(outcome, to: FillOutcome<Strategy.PagesGuard>.self)
        }
        return try fill(index, hint: nil)
    }

    /// `fill`, with the policy's `hint` if it was asked already.
    func fill(_ index: PageIndex, hint: InsertionHint?) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        var compressed: CompressedHit? = nil
        let outcome = try fillOnce(index, compressed: &compressed, hint: hint)
        guard let compressed else { return outcome }
        // With the fill's locks released: decompress under the locks of the
        // compressed folio's whole range; the caller looks the page up again.
        decompress(compressed.folio, hint: compressed.hint)
        compressed.folio.unpin()
        return .lostRace
    }

    /// `fill` up to finding the page in a compressed folio (`compressed`,
    /// pinned; the outcome is then `lostRace`).
    func fillOnce(_ index: PageIndex, compressed: inout CompressedHit?, hint given: InsertionHint? = nil) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        let order = readaheadOrder(index)
        // The policy sees the miss before room is made for it (S3-FIFO's
        // ghost is consulted at lookup, as in the reference).
        let hint = given ?? cache.policy.prepareInsert(file: mapping.id, index: index, order: order)
        cache.makeRoom(for: pageSize << Int(order))
        strategy.lockInvalidate(.shared, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        let pages = strategy.lockPages(index..<index.advanced(by: 1 << Int64(order)), .exclusive, in: mapping.pageLock)
        let outcome: FillOutcome<Strategy.PagesGuard>
        do throws(FolioError) {
            outcome = try fillLocked(index, order: order, pages: pages, hint: hint, compressed: &compressed)
        } catch {
            strategy.unlockPages(pages, in: mapping.pageLock)
            throw error
        }
        if case .filled = outcome {} else { strategy.unlockPages(pages, in: mapping.pageLock) }
        return outcome
    }

    /// `fill` for the async API's task, which must not block (docs/async.md):
    /// the same steps with room made from clean victims only
    /// (`makeRoomWithoutWaiting`), the insert locks trylocked, and the bytes
    /// read only if the backend has them in memory (`readWithoutBlocking`:
    /// the OS page cache). `.wouldBlock` when any step would wait: nothing
    /// is held or cached, and the hint the policy gave is handed back for
    /// the hop's `fill(_:hint:)`. A page held by a compressed folio hops
    /// too (its decompression takes blocking locks).
    func fillWithoutWaiting(_ index: PageIndex) -> FillWithoutWaitingOutcome<Strategy.PagesGuard> {
        let order = readaheadOrder(index)
        let hint = cache.policy.prepareInsert(file: mapping.id, index: index, order: order)
        guard cache.makeRoomWithoutWaiting(for: pageSize << Int(order)),
              strategy.tryLockInvalidate(.shared, in: mapping.pageLock) else { return .wouldBlock(hint) }
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        guard let pages = strategy.tryLockPages(index..<index.advanced(by: 1 << Int64(order)), .exclusive, in: mapping.pageLock) else {
            return .wouldBlock(hint)
        }
        var compressed: CompressedHit? = nil
        var blocked = false
        let outcome = withUnsafeMutablePointer(to: &blocked) { blocked in
            Result { () throws(FolioError) in
                try fillLocked(index, order: order, pages: pages, hint: hint, compressed: &compressed, wouldBlock: blocked)
            }
        }
        switch outcome {
        case .success(.filled(let folio, let pages)):
            return .filled(folio, pages: pages)
        case .success(.pastEOF):
            strategy.unlockPages(pages, in: mapping.pageLock)
            return .pastEOF
        case .success(.lostRace):
            strategy.unlockPages(pages, in: mapping.pageLock)
            compressed?.folio.unpin()
            return blocked || compressed != nil ? .wouldBlock(hint) : .lostRace
        case .failure:
            // (Closed meanwhile: the hop's read reports it.)
            strategy.unlockPages(pages, in: mapping.pageLock)
            return .wouldBlock(hint)
        }
    }

    /// The order of the folio a miss on page `index` fills: readahead. A
    /// miss at the page where the file's last fill ended (the start of the
    /// file counts) is part of a sequential stream and gets the largest
    /// folio that starts at `index` (aligned: at most `index`'s trailing
    /// zero bits), ends at or before the end of the file and is at most the
    /// cache's folio order (`PageCache.folioOrder`); any other miss
    /// gets one page. Because the order is bounded by the alignment, a
    /// stream that starts mid-file ramps up by itself (1, 2, 4, … pages), as
    /// the kernel's readahead window grows. The state is per open file — one
    /// word, the page after the last fill (the kernel's `file_ra_state`,
    /// reduced to what decides the order).
    @inlinable
    func readaheadOrder(_ index: PageIndex) -> UInt8 {
        let maxOrder = mapping.maxFolioOrder
        guard maxOrder > 0, index.rawValue == mapping.readaheadNext.load(ordering: .relaxed) else { return 0 }
        let size = mapping.size.load(ordering: .acquiring)
        let eofPages = (UInt64(max(size, 0)) + UInt64(pageSize - 1)) >> UInt64(mapping.pageShift)
        var order = min(maxOrder, index.rawValue.trailingZeroBitCount)
        while order > 0 && index.rawValue &+ (1 << UInt64(order)) > eofPages {
            order -= 1
        }
        return UInt8(order)
    }

    /// `fill` with the insert locks held (the range of a folio of `order`
    /// at `index`). Falls back to one page when the large folio's range is
    /// partly cached. A page held by a compressed folio comes back in
    /// `compressed` (pinned), with `lostRace`.
    /// `wouldBlock` non-nil: read with `readWithoutBlocking` only; if the
    /// backend would wait, the new folio is discarded, `wouldBlock` set and
    /// the outcome is `lostRace` (nothing held, nothing cached).
    func fillLocked(_ index: PageIndex, order: UInt8, pages: Strategy.PagesGuard, hint: InsertionHint, compressed: inout CompressedHit?,
                    wouldBlock: UnsafeMutablePointer<Bool>? = nil) throws(FolioError) -> FillOutcome<Strategy.PagesGuard> {
        try checkOpen()
        let size = mapping.size.load(ordering: .acquiring)
        guard mapping.offset(of: index) < size else { return .pastEOF }
        var result = insertFolio(index, order: order, zeroed: false)
        if case .taken = result, order > 0 { result = insertFolio(index, order: 0, zeroed: false) }
        let folio: Folio
        switch result {
        case .inserted(let f): folio = f
        case .taken: return .lostRace
        case .compressed(let f):
            // The policy's answer at the miss is the folio's own if the
            // miss asked about its key (S3-FIFO consumed the ghost entry).
            compressed = CompressedHit(folio: f, hint: f.index == index && f.order == order ? hint : nil)
            return .lostRace
        }
        do throws(FolioError) {
            if !(try readIn(folio, size: size, withoutBlocking: wouldBlock != nil)) {
                // The backend would wait: undone, for the caller to hop.
                discardInserted(folio)
                wouldBlock?.pointee = true
                return .lostRace
            }
        } catch {
            // A failed read caches nothing.
            discardInserted(folio)
            throw error
        }
        folio.setFlags(.uptodate)
        cache.policy.insert(folio, hint: hint)
        mapping.readaheadNext.store(folio.endIndex.rawValue, ordering: .relaxed)
        if folio.order > 0 { cache.counters.readaheadFolios.wrappingAdd(1, ordering: .relaxed) }
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
    /// `withoutBlocking`: through `readWithoutBlocking`; false (the folio's
    /// bytes unspecified) if the backend would wait. Otherwise true.
    @discardableResult
    func readIn(_ folio: Folio, size: Int64, withoutBlocking: Bool = false) throws(FolioError) -> Bool {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "readIn: the folio must be locked")
        guard let data = folio.data else { return true }
        let want = mapping.bytesBelow(size, in: folio)
        var got = 0
        if want > 0 {
            // Until the backend says end of file: a backend may return
            // fewer bytes than asked before it (one that does not loop, a
            // fault), and zeroing the rest would cache a torn page.
            let offset = mapping.offset(of: folio.index)
            while got < want {
                let buffer = UnsafeMutableRawBufferPointer(start: data + got, count: want - got)
                let n: Int
                if withoutBlocking {
                    guard let m = mapping.backend.readWithoutBlocking(into: buffer, at: offset + Int64(got)) else { return false }
                    n = m
                } else {
                    n = try mapping.backend.read(into: buffer, at: offset + Int64(got))
                }
                if n <= 0 { break }
                got += n
            }
            cache.counters.misses.wrappingAdd(1, ordering: .relaxed)
            mapping.counters.misses.wrappingAdd(1, ordering: .relaxed)
        }
        if got < folio.byteCount {
            (data + got).initializeMemory(as: UInt8.self, repeating: 0, count: folio.byteCount - got)
        }
        return true
    }

    /// With the insert locks held: a new folio of `order` at page `index`, locked,
    /// pinned, inserted into the page table and charged to the budget
    /// (`.inserted`) — or nothing changed because one of its pages is
    /// taken: `.taken`, or `.compressed` with the compressed folio holding
    /// it, pinned for the caller, who decompresses it (a compressed folio is
    /// a miss served from memory). The new folio's bytes are
    /// zero with `zeroed`, else unspecified: the caller fills every byte
    /// (`readIn`, or a write of the whole folio) before it marks it
    /// uptodate, and gives it to the policy (`prepareInsert` — before room
    /// was made, where the caller could — and `insert`) once it is.
    func insertFolio(_ index: PageIndex, order: UInt8 = 0, zeroed: Bool) -> InsertResult {
        let folio = cache.pool.take(index: index, order: order, mapping: mapping, zeroed: zeroed)
        // Nobody else can see it yet, so this never waits.
        strategy.lockUnpublishedFolio(folio)
        if let existing = mapping.table.insertOrPinExisting(folio) {
            strategy.unlockFolio(folio)
            // Never published: back to the pool once nobody pins it (a
            // lock-free lookup cannot have, but the rule is the same).
            folio.setFlags(.detached)
            folio.markUnlisted()
            folio.unpin()
            if existing.flags.contains(.compressed) && existing.contains(index) { return .compressed(existing) }
            existing.unpin()
            return .taken
        }
        let resident = cache.residentBytes.wrappingAdd(folio.byteCount, ordering: .relaxed).newValue
        cache.counters.peakResidentBytes.max(resident, ordering: .relaxed)
        return .inserted(folio)
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
