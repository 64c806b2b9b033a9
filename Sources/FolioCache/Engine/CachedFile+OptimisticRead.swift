import FolioLocks
import Synchronization

/// **Optimistic read hits** (per-page strategies): readers of one page that do
/// not exclude each other.
///
/// The locked hit path takes the folio's lock exclusively for its copy, so two
/// readers of one hot page take turns (and the second one often parks). Here
/// a hit pins the folio (which keeps its buffer, index and mapping), loads the
/// folio's version (`Folio+Version.swift`), copies without the lock, and
/// validates: the version unchanged, the folio still uptodate and in its
/// table. A writer changes the bytes only inside `changingBytes` with the lock
/// held, so a validated copy is a whole snapshot of the folio's bytes — the
/// same whole-page atomicity the lock gave. A failed validation (a writer ran,
/// the folio was truncated, evicted, collapsed or split) falls back to the
/// locked path, which always makes progress; so does a folio a writer is in.
///
/// What a hit writes to shared memory: the pin and the unpin (two atomics on
/// the folio's state word, as the locked hit path's pin-and-lock and
/// unlock-and-unpin) and the access bit when it is not set yet. Never the
/// lock, never a park.
///
/// Linearizability. The copy's bytes are the folio's bytes at the moment of
/// `readBegin` (no write began before validation); the folio was the page's
/// folio then (it was uptodate and not detached both before and after the
/// copy). A write that completed before this read began stored its bytes
/// before its release of the version, which `readBegin` acquires; a write
/// that went to a folio replacing this one did so after this one was
/// detached, which the check after the copy sees.
extension CachedFile {
    /// The hit of `readPage` without the lock: the bytes copied, or nil to
    /// take the locked path (a miss, a folio being written, or a failed
    /// validation).
    @inlinable
    func readOptimistically(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
        guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({
            $0.lookupLockFree(index, acquire: { $0.tryPin() }, release: { $0.unpin() })
        }) else { return nil }
        return found._withUnsafeGuaranteedRef { folio -> Int? in
            defer { folio.unpin() }
            guard let start = SeqCount.readBegin(folio.version) else {
                cache.counters.optimisticReadRetries.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
            // Acquire: a folio seen uptodate has its bytes visible (the filler
            // and decompression set the flag after the bytes, with release).
            let before = FolioFlags(rawValue: folio.state.load(ordering: .acquiring))
            guard before.contains(.uptodate), !before.contains(.detached), let src = folio.bytes(of: index) else { return nil }
            // EOF may move while this runs; a truncate that cuts into this
            // folio zeroes its tail inside `changingBytes` (validation fails)
            // or detaches it, so bytes past a new EOF are never returned as
            // of after the truncate.
            let available = mapping.size.load(ordering: .acquiring) - mapping.offset(of: index) - Int64(inPage)
            guard available > 0 else { return nil }
            let inFolio = folio.byteCount - folio.byteOffset(of: index) - inPage
            let n = min(count, inFolio, Int(min(available, Int64(count))))
            SeqCount.racyCopy(to: dst, from: src + inPage, count: n)
            let valid = SeqCount.readValidate(folio.version, start)
            let after = FolioFlags(rawValue: folio.state.load(ordering: .relaxed))
            guard valid, after.contains(.uptodate), !after.contains(.detached) else {
                cache.counters.optimisticReadRetries.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
            cache.recordAccess(folio)
            mapping.counters.hits.add(1)  // striped: no line shared with other readers
            return n
        }
    }
}
