/// Decides which folios leave the cache when it is over its byte budget.
///
/// The engine tells the policy about every folio's life through one path each
/// (docs/eviction.md, "What the engine tells the policy"):
/// * `prepareInsert` then `insert` — a miss: `prepareInsert` when the miss
///   is seen, before room is made for the new folio (S3-FIFO consults and
///   consumes its ghost there, as libCacheSim does at lookup), `insert` with
///   what it returned once the folio is in the page table (a read, a fault,
///   or a write to a page that was not cached). **A miss is an insertion,
///   not a hit.**
/// * `access` — a cached folio was used: a read hit, a write to a cached
///   page, a view fault that found the page, a view access through an entry
///   it had mapped, a view write. Every path calls the engine's one access
///   hook (`PageCache.recordAccess`), which does the policy's lock-free part
///   inline (SIEVE's visited bit, S3-FIFO's frequency) or calls `access`.
/// * `victims(bytes:)` — reclaim asks for folios to evict, in the policy's
///   order, until their sizes add up to the bytes it must free. Each one it
///   then either evicts (`evicted`) or cannot evict now because it is pinned
///   or busy (`keep`). The policy treats a victim as gone from its order the
///   moment it hands it out, so the sequence of victims is the reference
///   algorithm's, whatever the batch size.
/// * `remove` — a folio left for another reason (truncated, its file
///   closed, its fill failed). Exactly one of `evicted` / `remove` per
///   `insert`.
///
/// Policies count **bytes**: a folio weighs `folio.byteCount` (a 64 KiB folio
/// sixteen times a 4 KiB one) and ages as one unit (one visited bit, one
/// frequency). Implementations synchronize themselves; `access` may be called
/// concurrently with everything, also for a folio being removed.
///
/// Policies use the folio's `policyPrev` / `policyNext` links for their lists
/// (no allocation per folio) and hold no reference: the cache's pool keeps
/// every folio alive.
@_spi(FolioInternals) public protocol EvictionPolicy: AnyObject, Sendable {
    /// Which policy this is.
    var kind: EvictionPolicyKind { get }
    /// Folios currently tracked.
    var count: Int { get }
    /// Bytes of the folios currently tracked.
    var bytes: Int { get }
    /// Memory the policy itself holds beyond the folios (S3-FIFO's ghost),
    /// fixed at creation; the cache charges it to its byte budget.
    var overheadBytes: Int { get }
    /// A miss on the folio of `order` at `index` of file `file` (the
    /// mapping's `id`), seen before room is made for it.
    func prepareInsert(file: UInt64, index: PageIndex, order: UInt8) -> InsertionHint
    /// Tracks a new folio; `hint` is what `prepareInsert` returned for it.
    func insert(_ folio: Folio, hint: InsertionHint)
    func access(_ folio: Folio)
    /// Drops a folio that left the cache for a reason other than eviction.
    func remove(_ folio: Folio)
    /// Drops a victim that reclaim evicted.
    func evicted(_ folio: Folio)
    /// Takes back a victim that reclaim could not evict (pinned, busy, or its
    /// writeback failed): it stays cached and is not offered again at once.
    func keep(_ folio: Folio)
    /// Victims in the policy's order whose sizes add up to at least `bytes`
    /// (fewer if the policy runs out). Each is tracked until `evicted`,
    /// `keep` or `remove` is called for it; a victim handed out and not yet
    /// settled is offered again by the next call.
    func victims(bytes: Int) -> [Folio]
    /// Up to `limit` victims, by count (`victims(bytes:)` by folios).
    func candidates(limit: Int) -> [Folio]
    /// Collapse and split: the tracked folios `old` left the cache and the
    /// new folios `new`, holding the same pages, took their place (not an
    /// insertion of new data, and not an access). The new ones inherit the
    /// old ones' standing.
    func replace(_ old: [Folio], with new: [Folio])
}

@_spi(FolioInternals) extension EvictionPolicy {
    /// Evicted and removed alike, for policies that keep nothing of an
    /// evicted folio.
    public func evicted(_ folio: Folio) { remove(folio) }

    /// Nothing to decide at a miss, for policies that keep nothing of
    /// evicted folios.
    public func prepareInsert(file: UInt64, index: PageIndex, order: UInt8) -> InsertionHint { .none }

    /// Remove the old folios, insert the new ones with the access bits of
    /// the old (visited if any was; the highest frequency) — for policies
    /// whose order a new folio's insertion position does not distort much.
    public func replace(_ old: [Folio], with new: [Folio]) {
        let referenced = old.contains { $0.flags.contains(.referenced) }
        for o in old { remove(o) }
        for n in new {
            insert(n, hint: .none)
            if referenced { n.setFlags(.referenced) }
        }
    }

    /// `prepareInsert` and `insert` at once (a miss whose room is already
    /// made).
    public func insert(_ folio: Folio) {
        insert(folio, hint: prepareInsert(file: folio.mapping?.id ?? 0, index: folio.index, order: folio.order))
    }
}

/// What a policy decided at a miss, for the insertion that follows.
@_spi(FolioInternals) public struct InsertionHint: Sendable, Equatable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Nothing decided.
    public static let none = InsertionHint(rawValue: 0)
}

/// The eviction policies a configuration can name.
public enum EvictionPolicyKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Least recently used: the baseline. Every access moves the folio to the
    /// front under the policy lock.
    case lru
    /// SIEVE (Zhang et al., NSDI 2024): a FIFO queue with a moving hand and one
    /// visited bit; accesses only set the bit.
    case sieve
    /// S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10 % of the budget), a
    /// main FIFO and a ghost FIFO of recently evicted keys; accesses only
    /// bump a 2-bit frequency in the folio's state word. The default: the
    /// lowest mean miss ratio over the real traces checked (docs/eviction.md).
    case s3fifo = "s3-fifo"

    /// The configuration spelling (the raw value).
    public var description: String { rawValue }
}
