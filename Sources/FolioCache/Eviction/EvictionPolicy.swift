/// Decides which folios leave the cache when it is over its byte budget.
///
/// The cache calls `insert` after a miss has added a folio, `access` on every
/// hit, and `remove` when a folio leaves for any reason (evicted, truncated,
/// its file closed) — exactly once per `insert`. Reclaim asks for
/// `candidates`, tries to evict each (a trylock; pinned, locked or busy folios
/// are skipped), calls `remove` for those it evicted and `access` for those it
/// had to skip (a second chance, so a busy folio is not offered again at once).
///
/// Implementations synchronize themselves. `access` is on the hit path: the
/// scan-resistant default (SIEVE) only sets the folio's `referenced` flag
/// there, with no lock; the LRU baseline must take its list lock on every hit,
/// which is the cost it is measured for.
///
/// Policies use the folio's `policyPrev` / `policyNext` links for their lists
/// (no allocation per folio).
public protocol EvictionPolicy: AnyObject, Sendable {
    /// Which policy this is.
    var kind: EvictionPolicyKind { get }
    /// Folios currently tracked.
    var count: Int { get }
    func insert(_ folio: Folio)
    func access(_ folio: Folio)
    func remove(_ folio: Folio)
    /// Up to `limit` folios to try evicting, in the policy's order. They stay
    /// tracked until `remove` is called for them.
    func candidates(limit: Int) -> [Folio]
}

/// The eviction policies a configuration can name.
public enum EvictionPolicyKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: the baseline. Every hit moves the folio to the
    /// front under the policy lock.
    case lru
    /// SIEVE (Zhang et al., NSDI 2024): a FIFO queue with a moving hand and one
    /// visited bit; hits only set the bit. The default.
    case sieve

    public var description: String { rawValue }
}
