import FolioLocks
import Synchronization

/// The compressed folios of one cache, oldest first out: the second tier of
/// reclaim (zswap's pool, for file pages). A folio the eviction policy gave
/// up as a victim and reclaim kept compressed leaves the policy (as an
/// eviction: S3-FIFO remembers it in its ghost) and joins this FIFO; it
/// leaves it when it is decompressed (read again: it re-enters the policy as
/// a miss would, a ghost hit under S3-FIFO), evicted from here, truncated or
/// closed. Nothing reorders it meanwhile — a compressed folio cannot be hit
/// without leaving — so FIFO order is also least-recently-used order.
///
/// The tier may hold at most `limit` resident bytes (`compression.maxShare`
/// of the budget): while it holds more, reclaim evicts from here, oldest
/// first, instead of compressing more of the policy's victims. The rest of
/// the budget is the policy's, for uncompressed folios.
///
/// Links: the folio's `policyPrev` / `policyNext`, free once the policy let
/// go of it. A compressed folio can be neither looked up nor pinned
/// (`Folio.liveMask`), so no hit calls the policy's `access` with it.
final class CompressedTier: @unchecked Sendable {
    // @unchecked Sendable: `list` and the links of every folio in it are read
    // and written only with `lock` held; `residentBytes` and `count` are
    // atomic (written under the lock, read without it).

    let lock = ShortLock(.compressedTier)
    var list = FolioList()
    /// Resident bytes of the blocks in the tier.
    let residentBytes = Atomic<Int>(0)
    /// Resident bytes the tier may hold before reclaim evicts from it.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    var bytes: Int { residentBytes.load(ordering: .relaxed) }
    var isOverLimit: Bool { bytes > limit }

    /// A folio just compressed (its lock held; the policy no longer tracks
    /// it), its block taking `bytes`.
    func insert(_ folio: Folio, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        list.insert(folio, owner: "CompressedTier")
        residentBytes.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// A folio of the tier (its lock held) that is decompressed or leaves
    /// the cache; its block took `bytes`.
    func remove(_ folio: Folio, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        list.remove(folio, owner: "CompressedTier")
        residentBytes.wrappingSubtract(bytes, ordering: .relaxed)
    }

    /// The oldest folios whose uncompressed sizes add up to `bytes` — what
    /// evicting them frees is less, so reclaim asks again — in order. They
    /// stay in the tier: reclaim locks each and checks it is still
    /// compressed before evicting it (it may have been decompressed or
    /// removed meanwhile); one it cannot lock stays where it is.
    func oldest(bytes: Int) -> [Folio] {
        lock.lock()
        defer { lock.unlock() }
        var out: [Folio] = []
        var sum = 0
        var cursor = list.tail
        while let c = cursor, sum < bytes {
            let f = c.takeUnretainedValue()
            out.append(f)
            sum += f.byteCount
            cursor = FolioList.newer(c)
        }
        return out
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return list.count
    }
}
