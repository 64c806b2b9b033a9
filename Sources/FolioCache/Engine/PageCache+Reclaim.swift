import FolioLocks
import Synchronization

extension PageCache {
    /// Called at the end of an operation, with no page lock held.
    @inlinable
    func reclaimIfNeeded() {
        if residentBytes.load(ordering: .relaxed) > configuration.capacity {
            reclaim(target: configuration.capacity)
        }
    }

    /// Evicts policy candidates until at most `target` bytes are resident, or
    /// three rounds in a row make no progress (everything left is busy).
    @usableFromInline
    func reclaim(target: Int) {
        var idleRounds = 0
        while residentBytes.load(ordering: .relaxed) > target && idleRounds < 3 {
            let candidates = policy.candidates(limit: 32)
            if candidates.isEmpty { break }
            var progress = false
            for folio in candidates {
                if residentBytes.load(ordering: .relaxed) <= target { break }
                switch tryEvict(folio) {
                case .evicted:
                    progress = true
                case .busy:
                    counters.reclaimSkips.wrappingAdd(1, ordering: .relaxed)
                    policy.access(folio)  // a second chance, so it is not offered again at once
                case .gone:
                    break  // removed by someone else, who told the policy
                }
            }
            idleRounds = progress ? 0 : idleRounds + 1
        }
    }

    enum EvictOutcome { case evicted, busy, gone }

    /// Evicts one folio if that is possible without waiting: pins it (a
    /// candidate may have left the cache and gone back to the pool meanwhile —
    /// `tryPin` refuses such a folio), try-locks it through the strategy,
    /// skips it if someone else pins it, writes it back if dirty, removes it
    /// from its page table and the policy. It returns to the pool when the
    /// last pin — ours — drops, after its locks are released.
    func tryEvict(_ folio: Folio) -> EvictOutcome {
        guard folio.tryPin() else { return .gone }
        guard let core = folio.mapping else {
            folio.unpin()
            return .gone
        }
        // Every folio of this cache belongs to a Mapping<Strategy>.
        let mapping = unsafeDowncast(core, to: Mapping<Strategy>.self)
        let pages = folio.index..<folio.index.advanced(by: 1 << Int64(folio.order))
        guard let pagesGuard = strategy.tryLockPages(pages, .exclusive, in: mapping.pageLock) else {
            folio.unpin()
            return .busy
        }
        guard strategy.tryLockFolio(folio) else {
            strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            folio.unpin()
            return .busy
        }
        let outcome = evictLocked(folio, of: mapping)
        strategy.unlockFolio(folio)
        strategy.unlockPages(pagesGuard, in: mapping.pageLock)
        if outcome == .evicted { folio.markUnlisted() }
        folio.unpin()
        return outcome
    }

    /// The part of `tryEvict` done with the folio pinned (once, by us) and
    /// locked.
    func evictLocked(_ folio: Folio, of mapping: Mapping<Strategy>) -> EvictOutcome {
        // Recheck under the lock: truncate, close or another reclaimer may
        // have removed it since the policy offered it (they hold this same
        // lock to do so, so the answer is now stable).
        if folio.flags.contains(.detached) { return .gone }
        if folio.pinCount > 1 { return .busy }
        if folio.flags.contains(.dirty) {
            do {
                try writeback(folio, of: mapping)
            } catch {
                mapping.recordWritebackError(error)
                return .busy
            }
        }
        // Pins are re-checked under the shard lock, where lookups pin.
        guard mapping.table.remove(folio, onlyIfUnpinned: true, allowedPins: 1) else { return .busy }
        policy.remove(folio)
        residentBytes.wrappingSubtract(mapping.pageSize << Int(folio.order), ordering: .relaxed)
        counters.evictions.wrappingAdd(1, ordering: .relaxed)
        return .evicted
    }

    /// Writes a dirty folio's bytes below EOF to the backend. The caller holds
    /// the folio's page lock, which every writer of its bytes (`write`, view
    /// writes, truncate's zeroing) also holds, so the bytes are stable while
    /// they go out. `dirty` is cleared *before* the I/O (Linux's
    /// `folio_clear_dirty_for_io`): a change that lands after the bytes were
    /// taken re-dirties the folio instead of being marked clean with it. On
    /// failure the folio is dirty again.
    func writeback(_ folio: Folio, of mapping: MappingCore) throws(FolioError) {
        let start = mapping.offset(of: folio.index)
        let size = mapping.size.load(ordering: .acquiring)
        let bytes = mapping.pageSize << Int(folio.order)
        let n = start >= size ? 0 : Int(min(Int64(bytes), size - start))
        folio.clearFlags(.dirty)
        if n > 0, let data = folio.data {
            folio.setFlags(.writeback)
            defer { folio.clearFlags(.writeback) }
            do {
                try mapping.backend.write(UnsafeRawBufferPointer(start: data, count: n), at: start)
            } catch {
                folio.setFlags(.dirty)
                throw error
            }
            counters.writebacks.wrappingAdd(1, ordering: .relaxed)
        }
    }
}
