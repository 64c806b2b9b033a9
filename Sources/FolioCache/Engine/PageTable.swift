import FolioLocks
import Synchronization

/// A mapping's index → folio table: 64 shards, each a futex word and an
/// open-addressing hash table (linear probing, backward-shift deletion) in
/// memory the table owns.
///
/// **Writers** (insert, remove, grow) hold the shard's lock — only to change
/// the table, never across I/O or while sleeping on a page lock (the role of
/// the kernel's xarray lock).
///
/// **Lookups** first try without the lock: read the slot words with atomic
/// loads, then `tryPin` the folio found and check that it is the live folio of
/// this mapping at this index. That is safe because folios are type-stable
/// (they return to the cache's `FolioPool`, never to malloc, while the cache
/// lives) and slot arrays replaced by growth are kept until the table dies; a
/// stale or half-moved slot only makes the attempt fail, and the lookup then
/// takes the shard lock. So a hit writes nothing shared: only the found folio's
/// own state word. (With a locked lookup, two threads reading different pages
/// still bounced the shard lock words between cores; with shard objects and
/// `Dictionary`s, every lookup also wrote their shared reference counts.)
@usableFromInline
final class PageTable: @unchecked Sendable {
    // @unchecked Sendable: shard words and slot words are written only with
    // the shard's lock held, and read without it only through atomic loads
    // (`RawAtomic64`); retired slot arrays are freed only in deinit.

    /// A shard is one cache line of raw words, never accessed as a Swift
    /// struct (an access to a whole struct would overlap the lock word that
    /// other threads CAS, and ThreadSanitizer rightly calls that a race):
    /// word 0 the lock (low 32 bits), word 1 the entry count, word 2 the
    /// address of the current slot array (0: none yet; loaded atomically by
    /// lock-free readers), word 3 the head of the list of retired arrays.
    ///
    /// A slot array is [capacity (a power of two), next retired array,
    /// key0, ptr0, key1, ptr1, …]; pointer 0 marks an empty slot.
    @usableFromInline typealias Shard = UnsafeMutablePointer<UInt64>
    @usableFromInline static let shardWords = 8

    @usableFromInline static let shardBits = 6
    @usableFromInline static let shardCount = 1 << shardBits
    @usableFromInline let shards: UnsafeMutablePointer<UInt64>

    init() {
        let words = PageTable.shardCount * PageTable.shardWords
        let raw = UnsafeMutableRawPointer.allocate(byteCount: words * 8, alignment: 64)
        shards = raw.bindMemory(to: UInt64.self, capacity: words)
        shards.initialize(repeating: 0, count: words)
    }

    deinit {
        for i in 0..<PageTable.shardCount {
            let s = shards + i * PageTable.shardWords
            if s[2] != 0 { PageTable.words(s[2]).deallocate() }
            var r = s[3]
            while r != 0 {
                let w = PageTable.words(r)
                r = w[1]
                w.deallocate()
            }
        }
        shards.deallocate()
    }

    // MARK: Layout helpers

    @inlinable func shard(_ index: PageIndex) -> Shard {
        shards + (Int(truncatingIfNeeded: index.rawValue) & (PageTable.shardCount - 1)) * PageTable.shardWords
    }

    @inlinable static func lock(_ s: Shard) -> RawWordMutex {
        RawWordMutex(word: UnsafeMutableRawPointer(s).assumingMemoryBound(to: UInt32.self))
    }

    @inlinable static func blockWord(_ s: Shard) -> UnsafeMutablePointer<UInt64> { s + 2 }

    /// The words of a slot array.
    @inlinable static func words(_ block: UInt64) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(block)).unsafelyUnwrapped
    }

    /// Home slot of a key (the low bits chose the shard).
    @inlinable static func home(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: ((key >> UInt64(shardBits)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inlinable static func keyWord(_ w: UnsafeMutablePointer<UInt64>, _ i: Int) -> UnsafeMutablePointer<UInt64> { w + 2 + 2 * i }
    @inlinable static func ptrWord(_ w: UnsafeMutablePointer<UInt64>, _ i: Int) -> UnsafeMutablePointer<UInt64> { w + 3 + 2 * i }

    /// Slot index of `key` in a slot array, or nil (lock held, or racy for
    /// lock-free callers, who verify what they find).
    @inlinable static func find(_ key: UInt64, in block: UInt64) -> (slot: Int, pointer: UInt64)? {
        guard block != 0 else { return nil }
        let w = words(block)
        let capacity = Int(truncatingIfNeeded: RawAtomic64.loadRelaxed(w))
        let mask = capacity - 1
        var i = home(key, mask)
        for _ in 0..<capacity {
            let p = RawAtomic64.loadAcquire(ptrWord(w, i))
            if p == 0 { return nil }
            if RawAtomic64.loadRelaxed(keyWord(w, i)) == key { return (i, p) }
            i = (i + 1) & mask
        }
        return nil
    }

    // MARK: Lookup

    /// The live folio at `index`, pinned (and retained), or nil.
    @inlinable func lookupAndPin(_ index: PageIndex) -> Folio? {
        lookupAndPinUnretained(index)?.takeUnretainedValue()
    }

    /// The live folio at `index`, pinned but not retained: the pin keeps it
    /// in use and the cache's pool keeps the object alive, so the hit path
    /// needs no reference counting at all.
    @inlinable func lookupAndPinUnretained(_ index: PageIndex) -> Unmanaged<Folio>? {
        if let u = lookupLockFree(index, acquire: { $0.tryPin() }, release: { $0.unpin() }) { return u }
        return lookupAndPinLocked(index).map { Unmanaged.passUnretained($0) }
    }

    /// The lock-free attempt alone: finds the folio at `index` and takes it
    /// with `acquire` — `tryPin`, or the hit path's pin and folio lock in one
    /// atomic — which must refuse a folio that is not live. Nil if there is
    /// none, `acquire` refused, or the slot changed meanwhile (then `release`
    /// undoes `acquire`); the caller falls back to the locked lookup.
    @inlinable func lookupLockFree(_ index: PageIndex, acquire: (Folio) -> Bool, release: (Folio) -> Void) -> Unmanaged<Folio>? {
        let s = shard(index)
        let block = RawAtomic64.loadAcquire(PageTable.blockWord(s))
        guard let (slot, p) = PageTable.find(index.rawValue, in: block) else { return nil }
        // Type-stable memory: the pointer may be stale, never dangling.
        let u = Unmanaged<Folio>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(p)).unsafelyUnwrapped)
        let found = u._withUnsafeGuaranteedRef { candidate -> Bool in
            guard acquire(candidate) else { return false }
            // Pinned and live (published, not detached, not free). If this
            // table's current slot array still holds it in the same slot, it
            // is in this table now — at its own index, which the pin keeps
            // stable — so it is the folio we want. (Comparing its `mapping`
            // instead would retain and release the shared mapping object on
            // every hit.)
            if RawAtomic64.loadAcquire(PageTable.blockWord(s)) == block
                && RawAtomic64.loadAcquire(PageTable.ptrWord(PageTable.words(block), slot)) == p
                && candidate.index == index {
                return true
            }
            release(candidate)
            return false
        }
        return found ? u : nil
    }

    /// The same under the shard lock (a miss, or a slot that moved under the
    /// lock-free attempt).
    @usableFromInline func lookupAndPinLocked(_ index: PageIndex) -> Folio? {
        let s = shard(index)
        let m = PageTable.lock(s)
        m.lock()
        defer { m.unlock() }
        guard let (_, p) = PageTable.find(index.rawValue, in: s[2]) else { return nil }
        let folio = Unmanaged<Folio>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(p)).unsafelyUnwrapped).takeUnretainedValue()
        folio.pin()  // in the table, under the lock: live
        return folio
    }

    // MARK: Changes (shard lock)

    /// Inserts `folio` unless the index is taken; returns the existing folio,
    /// pinned, in that case.
    func insertOrPinExisting(_ folio: Folio) -> Folio? {
        let key = folio.index.rawValue
        let s = shard(folio.index)
        let m = PageTable.lock(s)
        m.lock()
        defer { m.unlock() }
        if let (_, p) = PageTable.find(key, in: s[2]) {
            let existing = Unmanaged<Folio>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(p)).unsafelyUnwrapped).takeUnretainedValue()
            existing.pin()
            return existing
        }
        var capacity = s[2] == 0 ? 0 : Int(PageTable.words(s[2])[0])
        if (Int(s[1]) + 1) * 4 > capacity * 3 {
            grow(s)
            capacity = Int(PageTable.words(s[2])[0])
        }
        let w = PageTable.words(s[2])
        let mask = capacity - 1
        var i = PageTable.home(key, mask)
        while RawAtomic64.loadRelaxed(PageTable.ptrWord(w, i)) != 0 { i = (i + 1) & mask }
        // Published before it can be found; key before pointer (a reader that
        // sees the pointer sees the key).
        folio.state.bitwiseOr(Folio.publishedBit, ordering: .releasing)
        RawAtomic64.storeRelaxed(PageTable.keyWord(w, i), key)
        RawAtomic64.storeRelease(PageTable.ptrWord(w, i), UInt64(UInt(bitPattern: Unmanaged.passUnretained(folio).toOpaque())))
        s[1] += 1
        return nil
    }

    /// Doubles a shard's slot array (16 slots at first). The old array is
    /// retired, not freed: a lock-free reader may still be probing it.
    func grow(_ s: Shard) {
        let old = s[2]
        let oldCapacity = old == 0 ? 0 : Int(PageTable.words(old)[0])
        let capacity = max(16, oldCapacity * 2)
        let count = 2 + 2 * capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
        let w = raw.bindMemory(to: UInt64.self, capacity: count)
        w.initialize(repeating: 0, count: count)
        w[0] = UInt64(capacity)
        let mask = capacity - 1
        if old != 0 {
            let ow = PageTable.words(old)
            for j in 0..<oldCapacity {
                let p = ow[3 + 2 * j]
                guard p != 0 else { continue }
                let key = ow[2 + 2 * j]
                var i = PageTable.home(key, mask)
                while w[3 + 2 * i] != 0 { i = (i + 1) & mask }
                w[2 + 2 * i] = key
                w[3 + 2 * i] = p
            }
            // Retire the old array onto the shard's list (freed in deinit).
            ow[1] = s[3]
            s[3] = old
        }
        // Release: the filled array is visible to readers that load the word.
        RawAtomic64.storeRelease(PageTable.blockWord(s), UInt64(UInt(bitPattern: raw)))
    }

    /// Removes `folio` if it is still the entry at its index and, with
    /// `onlyIfUnpinned`, nobody pins it. Marks it detached (every thread that
    /// finds it afterwards, after locking it, retries its lookup; `tryPin`
    /// refuses it). Returns whether it was removed. The folio returns to the
    /// pool once it is also unlisted and unpinned (see `Folio.retireIfIdle`).
    func remove(_ folio: Folio, onlyIfUnpinned: Bool, allowedPins: UInt64 = 0) -> Bool {
        let key = folio.index.rawValue
        let s = shard(folio.index)
        let m = PageTable.lock(s)
        m.lock()
        defer { m.unlock() }
        let me = UInt64(UInt(bitPattern: Unmanaged.passUnretained(folio).toOpaque()))
        guard let (found, p) = PageTable.find(key, in: s[2]), p == me else { return false }
        if onlyIfUnpinned && folio.pinCount > allowedPins { return false }
        // Backward-shift deletion: pull later entries of the probe run into
        // the hole so that lookups never need tombstones. A lock-free reader
        // racing with the shift may miss an entry; it then takes the lock.
        let w = PageTable.words(s[2])
        let mask = Int(w[0]) - 1
        var hole = found
        var j = found
        while true {
            j = (j + 1) & mask
            let pj = RawAtomic64.loadRelaxed(PageTable.ptrWord(w, j))
            guard pj != 0 else { break }
            let kj = RawAtomic64.loadRelaxed(PageTable.keyWord(w, j))
            let h = PageTable.home(kj, mask)
            // Move slot j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                RawAtomic64.storeRelaxed(PageTable.keyWord(w, hole), kj)
                RawAtomic64.storeRelease(PageTable.ptrWord(w, hole), pj)
                hole = j
            }
        }
        RawAtomic64.storeRelease(PageTable.ptrWord(w, hole), 0)
        s[1] -= 1
        folio.setFlags(.detached)
        return true
    }

    /// A snapshot of the folios at indices ≥ `from`, each pinned, in
    /// ascending index order.
    func pinnedFolios(from: PageIndex = PageIndex(0), where predicate: (Folio) -> Bool = { _ in true }) -> [Folio] {
        var out: [Folio] = []
        for i in 0..<PageTable.shardCount {
            let s = shards + i * PageTable.shardWords
            let m = PageTable.lock(s)
            m.lock()
            if s[2] != 0 {
                let w = PageTable.words(s[2])
                for j in 0..<Int(w[0]) {
                    let p = w[3 + 2 * j]
                    guard p != 0, w[2 + 2 * j] >= from.rawValue else { continue }
                    let f = Unmanaged<Folio>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(p)).unsafelyUnwrapped).takeUnretainedValue()
                    if predicate(f) {
                        f.pin()
                        out.append(f)
                    }
                }
            }
            m.unlock()
        }
        out.sort { $0.index < $1.index }
        return out
    }

    /// Number of entries (a snapshot).
    var count: Int {
        var n = 0
        for i in 0..<PageTable.shardCount {
            let s = shards + i * PageTable.shardWords
            let m = PageTable.lock(s)
            m.lock()
            n += Int(s[1])
            m.unlock()
        }
        return n
    }
}
