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
/// * **Pinned**: a pin keeps the folio alive — it is not freed or evicted,
///   and its index, order and data stay put. A *mapped* pin (a view using
///   the bytes in place) also keeps it from being merged (collapse) or
///   split; a plain pin does not: the replacement holds the same bytes, and
///   a plain pinner rechecks under the lock (`oneMappedPin`). Pins live in
///   the high half of the state word.
/// * **published** (bit 16): in a page table; set under the shard lock.
/// * **unlisted** (bit 17): no longer tracked by the eviction policy (or
///   never was).
/// * **free** (bit 18): back in the pool. Set by whoever makes the last of
///   the three conditions true — the last unpin, the policy letting go, or
///   the detach — with a CAS, so exactly once.
extension Folio {
    /// One pin, in bits 32–47 of the state word.
    @inlinable package static var onePin: UInt64 { 1 << 32 }
    /// One *mapped* pin, in bits 48–63: a pin taken by a view for an access
    /// that uses the bytes in place, without the lock (`FileView`). Always
    /// taken together with a plain pin (`mappedPin`), so `pinCount` counts
    /// it too. Collapse and split may replace a folio that others pin — a
    /// thread between its lookup and its lock, asleep on the lock, or about
    /// to find it detached: the replacement holds the same bytes, the old
    /// folio stays valid until its last unpin, and every such thread
    /// rechecks under the lock — but not one a view is reading in place: a
    /// write after the replacement would land in the new folio, unseen by a
    /// closure still reading the old one.
    @inlinable package static var oneMappedPin: UInt64 { 1 << 48 }
    /// A plain pin and a mapped pin.
    @inlinable package static var mappedPin: UInt64 { onePin | oneMappedPin }

    /// In a page table (set under the shard lock when inserted).
    @inlinable package static var publishedBit: UInt64 { 1 << 16 }
    /// No longer in the eviction policy (or never put there).
    @inlinable package static var unlistedBit: UInt64 { 1 << 17 }
    /// In its cache's pool, not in use.
    @inlinable package static var freeBit: UInt64 { 1 << 18 }
    /// What `tryPin` refuses unless only `publishedBit` is set: detached,
    /// free — and compressed: a compressed folio has no bytes to use, so a
    /// lookup treats it as a miss (the fill path then decompresses it).
    @inlinable static var liveMask: UInt64 { publishedBit | FolioFlags.detached.rawValue | freeBit | FolioFlags.compressed.rawValue }
    /// `liveMask` without the compressed bit: what reclaim may pin.
    @inlinable static var residentMask: UInt64 { publishedBit | FolioFlags.detached.rawValue | freeBit }
    @inlinable static var retireMask: UInt64 { FolioFlags.detached.rawValue | unlistedBit | freeBit }
    @inlinable static var retireReady: UInt64 { FolioFlags.detached.rawValue | unlistedBit }

    /// Pins the folio: it will not be freed, evicted, merged or split until
    /// the matching `unpin`. Only for a folio the caller already knows to be
    /// live (found under the page-table shard lock, or already pinned);
    /// otherwise `tryPin`.
    @inlinable package func pin() {
        let old = state.wrappingAdd(Folio.onePin, ordering: .relaxed).oldValue
        assert((old >> 32) & 0xFFFF < 0xFFFF, "Folio.pin: more than 65,535 pins")
    }

    /// Pins the folio only if it is live in a page table: published, not
    /// detached, not free. This is how a lock-free lookup makes a pointer it
    /// read from the table safe to use — folio headers of a cache are never
    /// freed while the cache lives (they return to its pool), so pinning a
    /// stale pointer is harmless: it just fails. Acquire pairs with the
    /// release that published the folio (its index, mapping and data are
    /// visible after success).
    @inlinable package func tryPin() -> Bool { tryPin(adding: Folio.onePin) }

    /// `tryPin` for a view's in-place access: a plain and a mapped pin.
    @inlinable package func tryPinMapped() -> Bool { tryPin(adding: Folio.mappedPin) }

    /// `tryPin` for reclaim and compression: also pins a compressed folio.
    @inlinable package func tryPinResident() -> Bool { tryPin(adding: Folio.onePin, mask: Folio.residentMask) }

    @inlinable func tryPin(adding pins: UInt64, mask: UInt64 = Folio.liveMask) -> Bool {
        var s = state.load(ordering: .relaxed)
        while s & mask == Folio.publishedBit {
            let (ok, current) = state.weakCompareExchange(
                expected: s, desired: s &+ pins,
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

    /// Turns a pin the caller holds into a mapped pin (a view's fault, with
    /// the folio's lock held, so that collapse and split see it).
    @inlinable package func markPinMapped() {
        state.wrappingAdd(Folio.oneMappedPin, ordering: .relaxed)
    }

    /// Drops a mapped pin (and its plain pin).
    @inlinable package func unpinMapped() {
        unpinned(previousState: state.wrappingSubtract(Folio.mappedPin, ordering: .releasing).oldValue)
    }

    /// What follows dropping a pin, given the state word before the atomic
    /// that dropped it (`unpin`, or a strategy's unlock-and-unpin): the last
    /// pin of a detached, unlisted folio retires it.
    @inlinable package func unpinned(previousState old: UInt64) {
        assert(old >= Folio.onePin, "Folio.unpin without a pin")
        if (old >> 32) & 0xFFFF == 1 && old & Folio.retireMask == Folio.retireReady { retireIfIdle() }
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
    @inlinable package var pinCount: UInt64 { (state.load(ordering: .acquiring) >> 32) & 0xFFFF }

    /// The current number of mapped pins (views reading in place).
    @inlinable package var mappedPinCount: UInt64 { state.load(ordering: .acquiring) >> 48 }
}
