import FolioLocks
import Synchronization

/// **Optimistic read hits** (per-page strategies): readers of one page that do
/// not exclude each other.
///
/// The locked hit path takes the folio's lock exclusively for its copy, so two
/// readers of one hot page take turns (and the second one often parks). Here
/// a hit loads the folio's version (`Folio+Version.swift`), copies without the
/// lock, and validates: the version unchanged, the folio still uptodate and in
/// its table. A writer changes the bytes only inside `changingBytes` with the
/// lock held, so a validated copy is a whole snapshot of the folio's bytes —
/// the same whole-page atomicity the lock gave. A failed validation (a writer
/// ran, the folio was truncated, evicted, collapsed or split) falls back to
/// the locked path, which always makes progress; so does a folio a writer is
/// in.
///
/// **No pin** (SIEVE and S3-FIFO, whose access hook is an atomic on the
/// state word). The folio is found and read as a seqlock reader reads
/// (`PageTable.beginUnpinnedRead`): the pool gives a folio each new
/// incarnation inside one write of its version, so the buffer address, index
/// and order the hit loads are checked to be of one incarnation — live,
/// uptodate, in this table's slot — by validating the version *before* the
/// copy; and after it, the state (not detached, not compressed, still
/// uptodate) and then the version again. Meanwhile the folio may be evicted
/// and its buffer returned: a buffer kept for reuse is still memory (the
/// check after the copy rejects whatever it held), and one bound for malloc
/// is freed only after the grace period of the cache's `ReaderSlots`, inside
/// a section of which the hit runs (`FolioPool`: limbo). LRU's access hook
/// moves the folio in the policy's list, which needs it pinned: with LRU the
/// hit pins as before.
///
/// What a hit writes to shared memory: nothing but its reader slot — one
/// atomic add in and one out, on a line of the processor it runs on — and
/// the access bit when it is not set yet (with LRU: the pin and unpin, two
/// atomics on the folio's state word, and the list). Never the lock, never a
/// park. The access bit is set after validation, so in a window of
/// nanoseconds it may land on a folio evicted and recycled meanwhile: its
/// new incarnation then looks accessed once, which only ages it later.
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
        if cache.accessKind == .call { return readOptimisticallyPinned(index, from: inPage, count: count, into: dst) }
        let readers = cache.bufferReaders
        let slot = readers.enter()
        defer { readers.leave(slot) }
        guard let (found, start, state) = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({
            $0.beginUnpinnedRead(index, writerInside: { cache.counters.optimisticReadRetries.wrappingAdd(1, ordering: .relaxed) })
        }) else {
            return nil
        }
        return found._withUnsafeGuaranteedRef { folio -> Int? in
            // Of the incarnation `start` names if the check below passes: its
            // state (uptodate), its buffer, first page, order and page shift —
            // all from these loads (the folio's own accessors would reload
            // the state, and assert what a race may break).
            guard FolioFlags(rawValue: state).contains(.uptodate), let data = folio.data else { return nil }
            let first = folio.indexWord.load(ordering: .relaxed)
            // Before anything is computed from them: one incarnation's, so
            // the copy stays inside its buffer.
            guard SeqCount.readValidate(folio.version, start) else {
                cache.counters.optimisticReadRetries.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
            let shift = Int(truncatingIfNeeded: (state >> 24) & 0x1F)
            let offset = Int(truncatingIfNeeded: index.rawValue &- first) << shift
            let inFolio = 1 << (shift + Int(truncatingIfNeeded: (state >> 8) & 0xFF)) - offset - inPage
            let src = data + offset
            // EOF may move while this runs; a truncate that cuts into this
            // folio zeroes its tail inside `changingBytes` (validation fails)
            // or detaches it, so bytes past a new EOF are never returned as
            // of after the truncate.
            let available = mapping.size.load(ordering: .acquiring) - mapping.offset(of: index) - Int64(inPage)
            guard available > 0 else { return nil }
            let n = min(count, inFolio, Int(min(available, Int64(count))))
            SeqCount.racyCopy(to: dst, from: src + inPage, count: n)
            // After the copy, in this order: the copy's loads, the state
            // (acquire: had a new incarnation begun, its odd version is seen
            // below), the version.
            atomicMemoryFence(ordering: .acquiring)
            let after = folio.state.load(ordering: .acquiring)
            guard after & Folio.liveMask == Folio.publishedBit, FolioFlags(rawValue: after).contains(.uptodate),
                  folio.version.load(ordering: .relaxed) == start else {
                cache.counters.optimisticReadRetries.wrappingAdd(1, ordering: .relaxed)
                return nil
            }
            cache.recordAccess(folio)
            mapping.counters.hits.add(1)  // striped: no line shared with other readers
            return n
        }
    }

    /// The optimistic hit with the folio pinned (LRU, whose access hook needs
    /// the folio to stay listed): the pin keeps its buffer, index and mapping.
    @inlinable
    func readOptimisticallyPinned(_ index: PageIndex, from inPage: Int, count: Int, into dst: UnsafeMutableRawPointer) -> Int? {
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
