import FolioLocks
import Synchronization

/// SIEVE (Zhang et al., "SIEVE is Simpler than LRU", NSDI 2024): the default.
///
/// One FIFO list threaded through the folios' `policyPrev` / `policyNext`
/// links, newest at the head, plus a *hand*. The folio's `referenced` flag is
/// SIEVE's "visited" bit.
///
/// * `insert` links the folio at the head. Folios never move after that.
/// * `access` (every hit) only sets `referenced` — and only if it is not set
///   already, so a hot folio's state word is read, not written, and its cache
///   line is not bounced between cores. **No lock.**
/// * `victims(bytes:)` / `candidates` walk from the hand toward the head
///   (wrapping to the tail past the head): a referenced folio has its bit
///   cleared and is kept where it is; an unreferenced one is a victim. The
///   walk stops as soon as the victims cover what was asked, and the hand
///   rests just past the last victim (toward the head), exactly where the
///   reference algorithm leaves it after evicting that folio
///   (`hand = obj.prev`). Nothing past it has been looked at, so asking for
///   one victim at a time or for several at once gives the same sequence.
/// * `keep` (reclaim could not evict a victim) sets its visited bit: the
///   hand has passed it, and it gets one more lap.
/// * `remove` unlinks; if the hand is on the removed folio it moves to the
///   folio's neighbour toward the head (nil: start at the tail next time).
///
/// With `victims` followed by `evicted` of each victim this is step for step
/// the paper's algorithm and libCacheSim's `Sieve` (the engine's replay test
/// compares victim sequences exactly; docs/eviction.md has the miss ratios).
///
/// Cost on the hit path: one relaxed load of the folio's state word, plus one
/// atomic `or` the first time the folio is hit after the hand last passed it.
///
/// Preconditions (the `EvictionPolicy` contract):
/// * `insert` is called once per folio, for a folio that is not tracked by
///   any policy (its links are nil). A folio is never inserted twice. The
///   `referenced` flag is left as it is (a fresh folio has it clear).
/// * `remove` is called exactly once for each inserted folio, before the
///   folio is freed. The policy holds no strong reference: its links and the
///   hand are `Unmanaged`, so the caller (the cache's folio pool) must keep the
///   folio alive while it is tracked. Removing an untracked folio traps.
/// * `access` may be called on any live folio, tracked or not.
@_spi(FolioInternals) public final class SievePolicy: EvictionPolicy, @unchecked Sendable {
    // @unchecked Sendable: `list`, `hand` and every tracked folio's policy
    // links are read and written only with `lock` held;
    // `trackedCount` and `trackedBytes` are atomic (written under the lock,
    // read without it); the
    // `referenced` bit lives in the folio's atomic state word.

    public var kind: EvictionPolicyKind { .sieve }

    let lock = ShortLock(.policy)
    /// Head: newest; tail: oldest.
    var list = FolioList()
    /// The next folio the eviction walk examines; nil means "the tail".
    var hand: Unmanaged<Folio>?
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
        list.insert(folio, owner: "SievePolicy")
        trackedCount.store(list.count, ordering: .relaxed)
        trackedBytes.wrappingAdd(folio.byteCount, ordering: .relaxed)
    }

    public func access(_ folio: Folio) {
        // Read first: skip the atomic write (and the cache-line transfer) if set.
        if !folio.flags.contains(.referenced) {
            folio.setFlags(.referenced)
        }
    }

    public func remove(_ folio: Folio) {
        lock.lock()
        defer { lock.unlock() }
        // SIEVE: the hand moves to the removed object's predecessor toward the head.
        if FolioList.same(hand, folio) { hand = folio.policyPrev }
        list.remove(folio, owner: "SievePolicy")
        trackedCount.store(list.count, ordering: .relaxed)
        trackedBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
    }

    /// The hand has passed the victim: one more lap for it.
    public func keep(_ folio: Folio) { access(folio) }

    /// Victims in SIEVE order until their sizes cover `bytes`.
    public func victims(bytes: Int) -> [Folio] { walk(limit: Int.max, bytes: bytes) }

    /// Up to `limit` distinct folios to try evicting, in SIEVE order. Clears
    /// the `referenced` bit of every referenced folio the hand passes. They
    /// stay tracked until `remove` is called for them.
    ///
    /// The walk is bounded by `2 × count + limit` steps: after one lap every
    /// folio is either a candidate or has had its bit cleared, so a second lap
    /// yields candidates even if every folio was referenced — unless hits keep
    /// setting the bits concurrently, in which case fewer (possibly no)
    /// candidates are returned rather than spinning.
    public func candidates(limit: Int) -> [Folio] { walk(limit: limit, bytes: Int.max) }

    /// The SIEVE walk: up to `limit` distinct victims, stopping as soon as
    /// they cover `bytes`.
    func walk(limit: Int, bytes: Int) -> [Folio] {
        guard limit > 0, bytes > 0 else { return [] }
        lock.lock()
        defer { lock.unlock() }
        let n = trackedCount.load(ordering: .relaxed)
        guard n > 0, let tail = list.tail else { return [] }
        let want = min(limit, n)
        let maxSteps = 2 * n + min(limit, n)
        var out: [Folio] = []
        var covered = 0
        var cur = hand ?? tail
        var steps = 0
        while out.count < want && covered < bytes && steps < maxSteps {
            steps += 1
            // Toward the head; past the head, wrap to the tail.
            let next = FolioList.newer(cur) ?? tail
            let folio = cur.takeUnretainedValue()
            if folio.flags.contains(.referenced) {
                // Visited: keep it in place, clear the bit, move on.
                folio.clearFlags(.referenced)
            } else if steps <= n || !out.contains(where: { $0 === folio }) {
                // A folio can only come round again after a full lap (n steps).
                out.append(folio)
                covered += folio.byteCount
            }
            cur = next
        }
        // The hand rests on the first folio not yet examined: just past the
        // last victim, as after the reference's `hand = evicted.prev`.
        hand = cur
        return out
    }
}
