import FolioLocks
import Synchronization

/// The version of a folio's bytes: a `SeqCount` that lets a read hit of the
/// per-page strategies copy a cached folio without its lock
/// (`CachedFile+OptimisticRead.swift`), so that readers of one page do not
/// exclude each other.
///
/// **Who bumps it.** Every change to the bytes of a folio that a lookup can
/// find uptodate — a write, a view's write, a truncate's zeroing of a tail —
/// runs inside `changingBytes`, by a thread holding the folio's lock
/// exclusively (the per-page strategies' folio lock is exclusive, so writers
/// are serialised and the count needs no read-modify-write). Bytes that no
/// optimistic reader can see change without it: a fill's (the folio is not
/// uptodate yet), a collapse's or split's copy into a new folio (not yet
/// published), decompression's (the folio is compressed: `tryPin` refuses it).
/// Per-inode and per-range writers do not bump it: their readers share a
/// lock that excludes writers, and never read optimistically. The pool
/// bumps it too, once per incarnation (`FolioPool.take`), for every
/// strategy: the per-inode and per-range read hit looks a folio up without
/// pinning it and validates the fields it read against this count
/// (`PageTable.lookupUnderPageRange`).
extension Folio {
    /// Runs `body`, which changes the folio's bytes, as one write of its
    /// version if `versioned` (the engine passes `Strategy.locksFolios`: the
    /// strategies whose folio lock, which the caller holds, is exclusive).
    @inlinable @inline(__always)
    package func changingBytes<R>(versioned: Bool, _ body: () -> R) -> R {
        guard versioned else { return body() }
        SeqCount.beginWrite(version)
        defer { SeqCount.endWrite(version) }
        return body()
    }
}
