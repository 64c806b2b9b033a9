import FolioLocks

/// Every folio a cache has ever made, and the free ones among them.
///
/// Folios are never freed while their cache lives: a folio that leaves the
/// page table (evicted, truncated, closed) and is no longer pinned or listed
/// by the eviction policy comes back here and is reused by the next miss.
/// That makes folio memory *type-stable*, which is what lets a lookup read a
/// folio pointer from the page table without its lock and then try to pin it
/// (`Folio.tryPin` fails on a free or recycled folio instead of touching freed
/// memory) — the trick of Linux's SLAB_TYPESAFE_BY_RCU page cache lookups.
/// It also spares a miss the allocation of its data buffer.
///
/// Memory: the pool holds at most the largest number of folios the cache has
/// had at once (resident plus in flight); the byte budget counts resident
/// folios only.
@usableFromInline
final class FolioPool: @unchecked Sendable {
    // @unchecked Sendable: `all` and `free` are accessed only under `lock`.
    let lock = ShortLock()
    var all: [Folio] = []
    var free: [Folio] = []
    let byteCount: Int

    init(byteCount: Int) { self.byteCount = byteCount }

    /// A folio for page `index` of `mapping`: pinned once, not yet published,
    /// zero-filled.
    func take(index: PageIndex, mapping: MappingCore) -> Folio {
        lock.lock()
        let reused = free.popLast()
        let folio: Folio
        if let reused {
            folio = reused
        } else {
            folio = Folio(index: index, byteCount: byteCount)
            all.append(folio)
        }
        lock.unlock()
        if reused != nil, let data = folio.data {
            data.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        }
        folio.index = index
        folio.mapping = mapping
        folio.policyPrev = nil
        folio.policyNext = nil
        // Release: index, mapping and the zeroed data are visible to whoever
        // pins this incarnation (tryPin acquires).
        folio.state.store(Folio.onePin, ordering: .releasing)
        return folio
    }

    /// Takes back a folio that `retireIfIdle` marked free.
    func put(_ folio: Folio) {
        folio.mapping = nil
        lock.withLock { free.append(folio) }
    }

    /// (folios made, folios free) — a snapshot.
    var counts: (total: Int, free: Int) { lock.withLock { (all.count, free.count) } }
}
