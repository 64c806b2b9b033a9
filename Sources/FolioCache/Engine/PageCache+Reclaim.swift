import FolioLocks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension PageCache {
    /// Whether `bytes` more folio data fit in the budget now.
    @inlinable
    func hasRoom(for bytes: Int) -> Bool {
        residentBytes.load(ordering: .relaxed) + bytes <= dataBudget
    }

    /// Before adding a folio of `bytes`: evicts until it fits in the budget.
    /// Called holding no page lock, so that reclaim's trylocks can succeed
    /// on every file (per-inode: the caller's own file too). When that pass
    /// could not make the room (the victims' locks were held by other
    /// threads, as when many threads use one file), a second pass retries
    /// each victim's trylocks, yielding the processor between tries
    /// (`waitingTries`), so that preempted holders finish. Evict, then
    /// insert — the order of the reference algorithms, so the folio being
    /// added is never a victim of the room made for it. Concurrent callers
    /// may each make room and then insert: **the budget is exceeded by at
    /// most one folio per thread in flight**, plus what is pinned (views
    /// reading in place, readers copying) or stays locked through the
    /// second pass (`BudgetBoundTests`; docs/architecture.md).
    @inlinable
    func makeRoom(for bytes: Int) {
        if !hasRoom(for: bytes) {
            reclaim(target: max(0, dataBudget - bytes))
            if !hasRoom(for: bytes) { reclaim(target: max(0, dataBudget - bytes), waiting: true) }
        }
    }

    /// Called at the end of an operation, with no page lock held: if the
    /// budget is exceeded (an insert that found nothing to evict, or
    /// concurrent inserts), evicts back to it.
    /// `cleanOnly`: in a task of the async API, which must not block —
    /// dirty victims are kept (their writeback would be I/O), clean ones
    /// evicted or compressed.
    @inlinable
    func reclaimIfNeeded(cleanOnly: Bool = false) {
        if residentBytes.load(ordering: .relaxed) > dataBudget {
            reclaim(target: dataBudget, cleanOnly: cleanOnly)
        }
    }

    /// `makeRoom` for a miss served in an async task (`fillWithoutWaiting`):
    /// one pass of trylocks over clean victims only — no writeback, no
    /// yielding. Whether the room is there now.
    func makeRoomWithoutWaiting(for bytes: Int) -> Bool {
        if hasRoom(for: bytes) { return true }
        reclaim(target: max(0, dataBudget - bytes), cleanOnly: true)
        return hasRoom(for: bytes)
    }

    /// Evicts the policy's victims until at most `target` bytes are
    /// resident, or three rounds in a row make no progress (everything left
    /// is busy). Asks for exactly the bytes still to free, so that the
    /// victims taken are the ones the reference algorithm would take; every
    /// victim handed out is either evicted or given back (`keep`).
    /// `waiting` (`makeRoom`'s second pass): retry each victim's trylocks,
    /// yielding in between (`tryEvict`), instead of trying once.
    /// `cleanOnly`: dirty victims count as busy (no writeback).
    @usableFromInline
    func reclaim(target: Int, waiting: Bool = false, cleanOnly: Bool = false) {
        var idleRounds = 0
        while idleRounds < 3 {
            let excess = residentBytes.load(ordering: .relaxed) - target
            if excess <= 0 { break }
            // The compressed tier over its share gives up its oldest; else
            // the policy's victims are compressed (kept in the tier) or
            // evicted; with nothing left in the policy, the tier's go.
            var fromTier = compressionEnabled && tier.isOverLimit
            var victims = fromTier ? tier.oldest(bytes: excess) : policy.victims(bytes: excess)
            if victims.isEmpty && !fromTier && compressionEnabled {
                fromTier = true
                victims = tier.oldest(bytes: excess)
            }
            if victims.isEmpty { break }
            var progress = false
            var need = excess
            for folio in victims {
                let before = residentBytes.load(ordering: .relaxed)
                let outcome = tryEvict(folio, need: need, fromTier: fromTier, waiting: waiting, cleanOnly: cleanOnly)
                need -= before - residentBytes.load(ordering: .relaxed)
                switch outcome {
                case .evicted, .split, .compressed:
                    // (Compressed: stage one; the policy let go of it, the
                    // tier has it.)
                    progress = true
                case .busy:
                    // (Given back to the policy by `tryEvict`, pinned.)
                    counters.reclaimSkips.wrappingAdd(1, ordering: .relaxed)
                case .gone:
                    break  // removed by someone else, who told the policy
                }
            }
            idleRounds = progress ? 0 : idleRounds + 1
        }
    }

    /// How often `makeRoom`'s waiting pass tries a victim's locks.
    static var waitingTries: Int { 64 }

    enum EvictOutcome {
        case evicted, compressed, busy, gone
        /// Only part of a large folio was needed: it was split and its
        /// tail pieces evicted; the rest stays (the policy has the pieces).
        case split
    }

    /// Evicts one folio if that is possible without waiting: pins it (a
    /// victim may have left the cache and gone back to the pool meanwhile —
    /// `tryPin` refuses such a folio), try-locks its whole range through the
    /// strategy, skips it if someone else pins it, writes it back if dirty,
    /// removes it from its page table and the policy. It returns to the pool
    /// when the last pin — ours — drops, after its locks are released.
    func tryEvict(_ folio: Folio, need: Int = .max, fromTier: Bool = false, waiting: Bool = false, cleanOnly: Bool = false) -> EvictOutcome {
        // (A compressed victim too: it is still resident, and evictable.)
        guard folio.tryPinResident() else { return .gone }
        guard let core = folio.mapping else {
            folio.unpin()
            return .gone
        }
        // Every folio of this cache belongs to a Mapping<Strategy>.
        let mapping = unsafeDowncast(core, to: Mapping<Strategy>.self)
        // Waiting (`makeRoom`'s second pass): retry the trylocks, yielding
        // the processor between tries, so that a holder that was preempted
        // gets to finish — never a blocking lock, because the caller might
        // hold one of this file's locks itself (a view's write closure that
        // reads another file) and would wait for itself.
        var tries = waiting ? PageCache.waitingTries : 1
        var locked: Strategy.PagesGuard? = nil
        while tries > 0 {
            tries -= 1
            if folio.pinCount > 1 { break }  // in use: not a victim now
            if let pagesGuard = strategy.tryLockPages(folio.pages, .exclusive, in: mapping.pageLock) {
                if strategy.tryLockFolio(folio) {
                    locked = pagesGuard
                    break
                }
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            }
            if tries > 0 { sched_yield() }
        }
        guard let pagesGuard = locked else {
            keepBusy(folio, fromTier: fromTier)
            folio.unpin()
            return .busy
        }
        let outcome = evictLocked(folio, of: mapping, need: need, fromTier: fromTier, cleanOnly: cleanOnly)
        strategy.unlockFolio(folio)
        strategy.unlockPages(pagesGuard, in: mapping.pageLock)
        if outcome == .evicted { folio.markUnlisted() }
        if outcome == .busy { keepBusy(folio, fromTier: fromTier) }
        folio.unpin()
        return outcome
    }

    /// A victim reclaim could not evict goes back to the policy (a second
    /// chance, so it is not offered again at once) — while reclaim still
    /// pins it: unpinned, another reclaimer could evict it and the pool hand
    /// it out again, its links rewritten while the policy reads them. A busy
    /// folio of the tier stays where it is.
    func keepBusy(_ folio: Folio, fromTier: Bool) {
        if !fromTier { policy.keep(folio) }
    }

    /// The part of `tryEvict` done with the folio pinned (once, by us) and
    /// locked, with its whole range. `fromTier`: a victim of the compressed
    /// tier, which must still be compressed.
    func evictLocked(_ folio: Folio, of mapping: Mapping<Strategy>, need: Int = .max, fromTier: Bool = false, cleanOnly: Bool = false) -> EvictOutcome {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "evictLocked: the folio must be locked")
        // Recheck under the lock: truncate, close or another reclaimer may
        // have removed it since the policy offered it (they hold this same
        // lock to do so, so the answer is now stable).
        if folio.flags.contains(.detached) { return .gone }
        // Decompressed since the tier offered it: the policy has it now.
        if fromTier && !folio.flags.contains(.compressed) { return .gone }
        if folio.pinCount > 1 { return .busy }
        if folio.flags.contains(.dirty) {
            if cleanOnly { return .busy }
            do {
                try writeback(folio, of: mapping)
            } catch {
                mapping.recordWritebackError(error)
                return .busy
            }
        }
        // Two stages, as zswap: a cold clean folio is first kept
        // compressed (if that saves enough) in the compressed tier, and
        // evicted from there, oldest first, when the tier is over its share.
        if compressLocked(folio, of: mapping) { return .compressed }
        // Reclaim that needs only part of a large folio splits it and
        // evicts the tail it needs (the kernel's deferred split, done at once).
        if folio.order > 0, need > 0, need < folio.byteCount, !folio.flags.contains(.compressed) {
            let keepPages = Int64((folio.byteCount - need) >> folio.pageShift)
            if keepPages > 0, let pieces = CachedFile(cache: self, mapping: mapping, isHandle: false).splitLocked(folio, at: folio.index.advanced(by: keepPages)) {
                let cut = folio.index.advanced(by: keepPages)
                for piece in pieces {
                    if piece.index >= cut && mapping.table.remove(piece, onlyIfUnpinned: true, allowedPins: 1) {
                        forget(piece, of: mapping, evicted: true)
                        piece.markUnlisted()
                        counters.evictions.wrappingAdd(1, ordering: .relaxed)
                    }
                    strategy.unlockFolio(piece)
                    piece.unpin()
                }
                return .split
            }
        }
        // Pins are re-checked under the shard lock, where locked lookups
        // pin. A lock-free lookup may still pin it just after this check;
        // that reader then finds it detached under the folio lock we hold (or,
        // per-inode and per-range, cannot look it up while we hold its range).
        guard mapping.table.remove(folio, onlyIfUnpinned: true, allowedPins: 1) else { return .busy }
        forget(folio, of: mapping, evicted: true)
        counters.evictions.wrappingAdd(1, ordering: .relaxed)
        return .evicted
    }
}
