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
/// * `candidates` walks from the hand toward the head (wrapping to the tail
///   past the head): a referenced folio has its bit cleared and is kept where
///   it is; an unreferenced one is a candidate. The hand stops just past the
///   last candidate (toward the head), exactly where the reference algorithm
///   leaves it after evicting that folio (`hand = obj.prev`).
/// * `remove` unlinks; if the hand is on the removed folio it moves to the
///   folio's neighbour toward the head (nil: start at the tail next time).
///
/// With `candidates(limit: 1)` followed by `remove` of the candidate this is
/// step for step the paper's algorithm and libCacheSim's `Sieve` (see
/// docs/eviction.md for the miss-ratio comparison).
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
///   hand are `Unmanaged`, so the caller (the page table) must keep the
///   folio alive while it is tracked. Removing an untracked folio traps.
/// * `access` may be called on any live folio, tracked or not.
public final class SievePolicy: EvictionPolicy, @unchecked Sendable {
    // @unchecked Sendable: `list`, `hand` and every tracked folio's policy
    // links are read and written only with `lock` held;
    // `trackedCount` is atomic (written under the lock, read without it); the
    // `referenced` bit lives in the folio's atomic state word.

    public var kind: EvictionPolicyKind { .sieve }

    let lock = ShortLock()
    /// Head: newest; tail: oldest.
    var list = FolioList()
    /// The next folio the eviction walk examines; nil means "the tail".
    var hand: Unmanaged<Folio>?
    let trackedCount = Atomic<Int>(0)

    public init() {}

    /// Folios currently tracked. Exact: it changes only under the list lock,
    /// together with the list.
    public var count: Int { trackedCount.load(ordering: .relaxed) }

    public func insert(_ folio: Folio) {
        lock.lock()
        defer { lock.unlock() }
        list.insert(folio, owner: "SievePolicy")
        trackedCount.store(list.count, ordering: .relaxed)
    }

    @inlinable public func access(_ folio: Folio) {
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
    }

    /// Up to `limit` distinct folios to try evicting, in SIEVE order. Clears
    /// the `referenced` bit of every referenced folio the hand passes. They
    /// stay tracked until `remove` is called for them.
    ///
    /// The walk is bounded by `2 × count + limit` steps: after one lap every
    /// folio is either a candidate or has had its bit cleared, so a second lap
    /// yields candidates even if every folio was referenced — unless hits keep
    /// setting the bits concurrently, in which case fewer (possibly no)
    /// candidates are returned rather than spinning.
    public func candidates(limit: Int) -> [Folio] {
        guard limit > 0 else { return [] }
        lock.lock()
        defer { lock.unlock() }
        let n = trackedCount.load(ordering: .relaxed)
        guard n > 0, let tail = list.tail else { return [] }
        let want = min(limit, n)
        let maxSteps = 2 * n + limit
        var out: [Folio] = []
        out.reserveCapacity(want)
        var cur = hand ?? tail
        var steps = 0
        while out.count < want && steps < maxSteps {
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
            }
            cur = next
        }
        // The hand rests on the first folio not yet examined: just past the
        // last candidate, as after the reference's `hand = evicted.prev`.
        hand = cur
        return out
    }
}
