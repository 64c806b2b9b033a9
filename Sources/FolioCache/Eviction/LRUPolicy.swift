import FolioLocks
import Synchronization

/// Least recently used: the baseline policy.
///
/// One doubly linked list threaded through the folios' `policyPrev` /
/// `policyNext` links, most recently used at the head. `insert` links at the
/// head; `access` (every hit) takes the list lock and moves the folio to the
/// head; `victims` / `candidates` read from the tail (least recent first)
/// without unlinking; `keep` moves a victim reclaim could not evict to the
/// head; `remove` / `evicted` unlink. No allocation per folio, no dictionary.
///
/// Cost on the hit path: one lock acquisition and up to six pointer writes on
/// a shared list, i.e. every hit from every thread serializes on one lock and
/// writes the shared head cache line — the cost SIEVE avoids.
///
/// Preconditions (the `EvictionPolicy` contract):
/// * `insert` is called once per folio, for a folio that is not tracked by
///   any policy (its links are nil). A folio is never inserted twice.
/// * `remove` is called exactly once for each inserted folio, before the
///   folio is freed. The policy holds no strong reference: its links are
///   `Unmanaged`, so the caller (the cache's folio pool) must keep the folio
///   alive while it is tracked. Removing an untracked folio traps.
/// * `access` on a folio that is not (or no longer) tracked by this policy is
///   a no-op, so a hit racing with the folio's removal is harmless. A folio
///   tracked by a *different* policy instance must not be passed.
@_spi(FolioInternals) public final class LRUPolicy: EvictionPolicy, @unchecked Sendable {
    // @unchecked Sendable: `list` and every tracked folio's policy links are
    // read and written only with `lock` held; `trackedCount` and
    // `trackedBytes` are atomic (written under the lock, read without it).

    public var kind: EvictionPolicyKind { .lru }

    let lock = ShortLock(.policy)
    /// Head: most recently used; tail: least recently used.
    var list = FolioList()
    let trackedCount = Atomic<Int>(0)
    let trackedBytes = Atomic<Int>(0)

    public init() {}

    /// Folios currently tracked. Exact: it changes only under the list lock,
    /// together with the list.
    public var count: Int { trackedCount.load(ordering: .relaxed) }
    /// Bytes tracked (exact, like `count`).
    public var bytes: Int { trackedBytes.load(ordering: .relaxed) }
    public var overheadBytes: Int { 0 }

    public func insert(_ folio: Folio, hint: InsertionHint) {
        lock.lock()
        defer { lock.unlock() }
        list.insert(folio, owner: "LRUPolicy")
        trackedCount.store(list.count, ordering: .relaxed)
        trackedBytes.wrappingAdd(folio.byteCount, ordering: .relaxed)
    }

    public func access(_ folio: Folio) {
        lock.lock()
        defer { lock.unlock() }
        // Already the most recent, or not tracked (removed concurrently): nothing to do.
        guard !FolioList.same(list.head, folio), list.contains(folio) else { return }
        list.unlink(folio)
        list.pushHead(folio)
    }

    public func remove(_ folio: Folio) {
        lock.lock()
        defer { lock.unlock() }
        list.remove(folio, owner: "LRUPolicy")
        trackedCount.store(list.count, ordering: .relaxed)
        trackedBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
    }

    /// A victim reclaim could not evict becomes the most recent.
    public func keep(_ folio: Folio) { access(folio) }

    /// Least recently used first, until their sizes cover `bytes`.
    public func victims(bytes: Int) -> [Folio] {
        walk(limit: Int.max, bytes: bytes)
    }

    /// Up to `limit` folios from the tail, least recently used first. They
    /// stay tracked (and in place) until `remove` is called for them.
    public func candidates(limit: Int) -> [Folio] {
        walk(limit: limit, bytes: Int.max)
    }

    /// From the tail: up to `limit` folios, stopping once they cover `bytes`.
    func walk(limit: Int, bytes: Int) -> [Folio] {
        guard limit > 0, bytes > 0 else { return [] }
        lock.lock()
        defer { lock.unlock() }
        var out: [Folio] = []
        var covered = 0
        var f = list.tail
        while let cur = f, out.count < limit, covered < bytes {
            let folio = cur.takeUnretainedValue()
            out.append(folio)
            covered += folio.byteCount
            f = FolioList.newer(cur)
        }
        return out
    }
}
