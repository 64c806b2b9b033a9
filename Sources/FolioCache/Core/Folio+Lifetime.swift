import Synchronization

/// The folio lifetime state machine: pins, and the three lifetime bits that
/// decide when a folio goes back to its cache's pool.
///
/// ```
///            FolioPool.take                 PageTable insert
///   free ───────────────────────▶ taken ───────────────────────▶ published
///    ▲       (pinned once,                  (publishedBit;            │
///    │        not findable)                  tryPin works)            │ detached (removed from the
///    │                                                                ▼ table: evict, truncate, close)
///    └───────────── retireIfIdle ◀──────── detached + unlisted + pin count 0
///                  (freeBit; exactly once)    (unlisted: the eviction policy let go)
/// ```
///
/// * **Pinned**: a pin keeps the folio alive and in place — it is not freed,
///   evicted, merged or split, and its index, order and data stay put. Pins
///   live in the high half of the state word.
/// * **published** (bit 16): in a page table; set under the shard lock.
/// * **unlisted** (bit 17): no longer tracked by the eviction policy (or
///   never was).
/// * **free** (bit 18): back in the pool. Set by whoever makes the last of
///   the three conditions true — the last unpin, the policy letting go, or
///   the detach — with a CAS, so exactly once.
extension Folio {
    /// One pin, in the state word's high half.
    @inlinable package static var onePin: UInt64 { 1 << 32 }

    /// In a page table (set under the shard lock when inserted).
    @inlinable package static var publishedBit: UInt64 { 1 << 16 }
    /// No longer in the eviction policy (or never put there).
    @inlinable package static var unlistedBit: UInt64 { 1 << 17 }
    /// In its cache's pool, not in use.
    @inlinable package static var freeBit: UInt64 { 1 << 18 }
    @inlinable static var liveMask: UInt64 { publishedBit | FolioFlags.detached.rawValue | freeBit }
    @inlinable static var retireMask: UInt64 { FolioFlags.detached.rawValue | unlistedBit | freeBit }
    @inlinable static var retireReady: UInt64 { FolioFlags.detached.rawValue | unlistedBit }

    /// Pins the folio: it will not be freed, evicted, merged or split until
    /// the matching `unpin`. Only for a folio the caller already knows to be
    /// live (found under the page-table shard lock, or already pinned);
    /// otherwise `tryPin`.
    @inlinable package func pin() {
        state.wrappingAdd(Folio.onePin, ordering: .relaxed)
    }

    /// Pins the folio only if it is live in a page table: published, not
    /// detached, not free. This is how a lock-free lookup makes a pointer it
    /// read from the table safe to use — folio headers of a cache are never
    /// freed while the cache lives (they return to its pool), so pinning a
    /// stale pointer is harmless: it just fails. Acquire pairs with the
    /// release that published the folio (its index, mapping and data are
    /// visible after success).
    @inlinable package func tryPin() -> Bool {
        var s = state.load(ordering: .relaxed)
        while s & Folio.liveMask == Folio.publishedBit {
            let (ok, current) = state.weakCompareExchange(
                expected: s, desired: s &+ Folio.onePin,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if ok { return true }
            s = current
        }
        return false
    }

    /// Drops a pin. Release: the pinner's reads of the data happen-before a
    /// reclaimer that sees the count at zero (acquire) frees it.
    @inlinable package func unpin() {
        unpinned(previousState: state.wrappingSubtract(Folio.onePin, ordering: .releasing).oldValue)
    }

    /// What follows dropping a pin, given the state word before the atomic
    /// that dropped it (`unpin`, or a strategy's unlock-and-unpin): the last
    /// pin of a detached, unlisted folio retires it.
    @inlinable package func unpinned(previousState old: UInt64) {
        assert(old >= Folio.onePin, "Folio.unpin without a pin")
        if old >> 32 == 1 && old & Folio.retireMask == Folio.retireReady { retireIfIdle() }
    }

    /// Records that the eviction policy no longer tracks this folio (or never
    /// did); retires it if nothing else holds it.
    @usableFromInline func markUnlisted() {
        let old = state.bitwiseOr(Folio.unlistedBit, ordering: .acquiringAndReleasing).oldValue
        if old >> 32 == 0 && (old | Folio.unlistedBit) & Folio.retireMask == Folio.retireReady { retireIfIdle() }
    }

    /// Returns the folio to its cache's pool once it is detached, unlisted and
    /// unpinned — exactly once, whoever gets here last (the CAS decides).
    @usableFromInline func retireIfIdle() {
        var s = state.load(ordering: .acquiring)
        while s >> 32 == 0 && s & Folio.retireMask == Folio.retireReady {
            let (ok, current) = state.weakCompareExchange(
                expected: s, desired: s | Folio.freeBit,
                successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if ok {
                mapping?.pool.put(self)
                return
            }
            s = current
        }
    }

    /// The current pin count (a racy snapshot unless the caller holds the
    /// page-table shard lock).
    @inlinable package var pinCount: UInt64 { state.load(ordering: .acquiring) >> 32 }
}
