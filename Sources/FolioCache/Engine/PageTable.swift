import FolioLocks

/// A mapping's index → folio table: 16 shards, each a short lock and a
/// dictionary. The lock is held only to find, insert or remove an entry (and
/// to pin what it finds), never across I/O or while sleeping on a page lock —
/// the role of the kernel's xarray lock. Two threads touching different pages
/// of a file usually take different shards; nothing here is cache-global.
final class PageTable: @unchecked Sendable {
    // @unchecked Sendable: each shard's dictionary is accessed only under that
    // shard's lock.
    final class Shard: @unchecked Sendable {
        // @unchecked Sendable: `entries` only under `lock`.
        let lock = ShortLock()
        var entries: [UInt64: Folio] = [:]
    }

    static let shardCount = 16
    let shards: [Shard] = (0..<PageTable.shardCount).map { _ in Shard() }

    @inline(__always) func shard(_ i: PageIndex) -> Shard {
        shards[Int(truncatingIfNeeded: i.rawValue) & (PageTable.shardCount - 1)]
    }

    /// The folio at `index`, pinned, or nil. Pinning under the shard lock is
    /// what lets reclaim (which checks pins under the same lock) never free a
    /// folio somebody just found.
    func lookupAndPin(_ index: PageIndex) -> Folio? {
        let s = shard(index)
        s.lock.lock()
        defer { s.lock.unlock() }
        guard let f = s.entries[index.rawValue] else { return nil }
        f.pin()
        return f
    }

    /// Inserts `folio` (pinned by the caller) unless the index is taken;
    /// returns the existing folio, pinned, in that case.
    func insertOrPinExisting(_ folio: Folio) -> Folio? {
        let s = shard(folio.index)
        s.lock.lock()
        defer { s.lock.unlock() }
        if let existing = s.entries[folio.index.rawValue] {
            existing.pin()
            return existing
        }
        s.entries[folio.index.rawValue] = folio
        return nil
    }

    /// Removes `folio` if it is still the entry at its index and, with
    /// `onlyIfUnpinned`, nobody but the caller's `allowedPins` pins it. Marks
    /// it detached (every thread that finds it afterwards, after locking it,
    /// retries its lookup). Returns whether it was removed.
    func remove(_ folio: Folio, onlyIfUnpinned: Bool, allowedPins: UInt64 = 0) -> Bool {
        let s = shard(folio.index)
        s.lock.lock()
        defer { s.lock.unlock() }
        guard let current = s.entries[folio.index.rawValue], current === folio else { return false }
        if onlyIfUnpinned && folio.pinCount > allowedPins { return false }
        s.entries[folio.index.rawValue] = nil
        folio.setFlags(.detached)
        return true
    }

    /// A snapshot of the folios at indices ≥ `from`, each pinned, in
    /// ascending index order.
    func pinnedFolios(from: PageIndex = PageIndex(0), where predicate: (Folio) -> Bool = { _ in true }) -> [Folio] {
        var out: [Folio] = []
        for s in shards {
            s.lock.lock()
            for (i, f) in s.entries where i >= from.rawValue && predicate(f) {
                f.pin()
                out.append(f)
            }
            s.lock.unlock()
        }
        out.sort { $0.index < $1.index }
        return out
    }

    /// Number of entries (a snapshot).
    var count: Int {
        shards.reduce(0) { n, s in s.lock.withLock { n + s.entries.count } }
    }
}
