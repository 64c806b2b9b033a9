import FolioLocks
import Synchronization

/// A mapping's page index → folio table: 64 shards, each a futex word and an
/// open-addressing hash table (linear probing, backward-shift deletion) in
/// memory the table owns.
///
/// **One entry per folio**, keyed by the folio's first page; the key word
/// also carries the folio's order (bits 56–61), so that a probe knows, without
/// touching the folio, which pages the entry covers. A lookup of page `i`
/// probes, for each folio order present in the table (`ordersPresent`, a
/// bitmask; largest first), the key `i` rounded down to that order's
/// alignment — one probe sequence in a table of one-page folios, at most
/// `blockShift + 1` otherwise, usually two. An entry is a 16-byte slot at a
/// load factor from 3/8 to 3/4 (growth doubles), and the arrays growth
/// retired are kept (see below) — about as much again: 40–60 bytes per
/// folio, 3–4 bytes per page of a 64 KiB folio. (Issue 10's table had one
/// entry per *page*: one probe for any page, 16× the slots for a 64 KiB
/// folio — most of the engine's metadata at order 4.)
///
/// **Sharding by aligned block.** `shard = (index >> blockShift) & 63`, where
/// `blockShift` is the largest folio order the cache makes: every folio lies
/// inside one aligned block of `2^blockShift` pages, so all of its entries
/// live in one shard and every change to a folio (insert, remove, collapse,
/// split) is done under that one shard lock. With `blockShift` 0 a shard is
/// chosen by the low 6 bits of the page index. Inside a shard the key is
/// hashed with its shard bits removed (`homeSlot(of:capacity:)`), so that
/// the consecutive pages of one block spread over the slot array.
///
/// **Writers** (insert, remove, collapse, split, grow) hold the shard's lock —
/// only to change the table, never across I/O or while sleeping on a page
/// lock (the role of the kernel's xarray lock). The order in which they store
/// what lock-free readers load is stated on each of them
/// (`PageTable+Changes.swift`).
///
/// **Lookups** first try without the lock (`lookupLockFree`): read the slot
/// words with atomic loads, `tryPin` the folio found, then check that this
/// table's current slot array still holds it in that slot and that it covers
/// the page. That is safe because folios are type-stable (they return to the
/// cache's `FolioPool`, never to malloc, while the cache lives) and slot
/// arrays replaced by growth are kept until the table dies: a stale or
/// half-moved slot only makes the attempt fail, and the lookup then takes the
/// shard lock. So a hit writes nothing shared, only the found folio's own
/// state word. (With a locked lookup, two threads reading different pages
/// still bounced the shard lock words between cores; with shard objects and
/// `Dictionary`s, every lookup also wrote their shared reference counts.)
///
/// **Costs.** A hit: two loads to reach the slot array, a probe of usually one
/// or two slots, the caller's acquire (one CAS), two loads to re-check — no
/// allocation, no reference counting. `pinnedFolios` and `count` take every
/// shard lock in turn; `pinnedFolios` reads every slot (O(capacity)).
///
/// **Left out on purpose.** No ordered iteration without the locks (the
/// engine's range walks go through `pinnedFolios`), no shrinking of slot
/// arrays, no tombstones (backward-shift deletion keeps probe runs short).
@usableFromInline
final class PageTable: @unchecked Sendable {
    // @unchecked Sendable: shard words and slot words are written only with
    // the shard's lock held, and read without it only through atomic loads
    // (`RawAtomic64`, through `ShardHandle` and `SlotArray`); `blockShift`,
    // `blockMask` and `packShift` are immutable; retired slot arrays are freed
    // only in deinit.

    /// log2 of the number of shards.
    @inlinable static var shardBits: Int { 6 }
    @inlinable static var shardCount: Int { 1 << shardBits }

    /// The shards: `shardCount` cache lines of `ShardHandle.wordCount` words,
    /// 64-byte aligned. Reached only through `shard(number:)`.
    @usableFromInline let shardWords: UnsafeMutablePointer<UInt64>
    /// log2 of the aligned block of pages that always shares a shard: the
    /// largest folio order this table accepts.
    @usableFromInline let blockShift: Int
    /// `2^blockShift - 1`: the page-within-block bits of an index.
    @usableFromInline let blockMask: UInt64
    /// `blockShift + shardBits`: where the block number above the shard
    /// bits starts.
    @usableFromInline let packShift: UInt64
    /// Bit k set: a folio of order k was inserted into this table at some
    /// time (never cleared). Set under the shard lock before the entry is
    /// stored, so a locked lookup of that shard sees it; a lock-free lookup
    /// that loaded it too early only misses and takes the lock.
    @usableFromInline let ordersPresent = Atomic<UInt64>(0)

    /// Where a key word keeps the folio's order; below it, the first page.
    @inlinable static var orderShift: UInt64 { 56 }
    @inlinable static var startMask: UInt64 { (1 << orderShift) - 1 }
    /// The key word of a folio's entry: its first page and its order.
    @inlinable @inline(__always) static func keyWord(of folio: Folio) -> UInt64 {
        folio.index.rawValue | UInt64(folio.order) << orderShift
    }

    /// A table for folios of order at most `blockShift` (the cache's largest
    /// folio order; 0 for a cache of single pages).
    init(blockShift: Int = 0) {
        precondition(blockShift >= 0 && blockShift <= Int(Folio.maxOrder), "PageTable: block shift \(blockShift) out of 0...\(Folio.maxOrder)")
        self.blockShift = blockShift
        self.blockMask = (1 << UInt64(blockShift)) - 1
        self.packShift = UInt64(blockShift + PageTable.shardBits)
        let words = PageTable.shardCount * ShardHandle.wordCount
        let raw = UnsafeMutableRawPointer.allocate(byteCount: words * 8, alignment: 64)
        shardWords = raw.bindMemory(to: UInt64.self, capacity: words)
        shardWords.initialize(repeating: 0, count: words)
    }

    deinit {
        for n in 0..<PageTable.shardCount {
            let shard = shard(number: n)
            shard.slotArray?.deallocate()
            var retired = shard.retiredHead
            while let array = retired {
                retired = array.nextRetired
                array.deallocate()
            }
        }
        shardWords.deallocate()
    }

    // MARK: Where a key lives

    /// The shard of page `index`: its aligned block's number, modulo 64.
    @inlinable @inline(__always) func shardNumber(of index: PageIndex) -> Int {
        Int(truncatingIfNeeded: index.rawValue &>> UInt64(truncatingIfNeeded: blockShift)) & (PageTable.shardCount - 1)
    }

    @inlinable @inline(__always) func shard(for index: PageIndex) -> ShardHandle { shard(number: shardNumber(of: index)) }

    @inlinable @inline(__always) func shard(number n: Int) -> ShardHandle {
        assert(n >= 0 && n < PageTable.shardCount, "PageTable: shard \(n) out of 0..<\(PageTable.shardCount)")
        return ShardHandle(shardWords + n * ShardHandle.wordCount)
    }

    /// The home slot of `key` in a slot array of `capacity` slots (a power
    /// of two). The shard bits carry no information inside a shard, so they
    /// are dropped first: the rest (block number above, page within the
    /// block below) is packed into one integer and spread by Fibonacci
    /// hashing — multiply by 2^64/φ, keep the top log2(capacity) bits — which
    /// places consecutive integers (the pages of a block, neighbouring
    /// blocks) nearly evenly around the array: the 16 pages of a block get 16
    /// distinct home slots of 32, and 1,024 consecutive pages 1,021 of 2,048
    /// (bits 32 and up of the same product, the old hash, gave 11 and 1,024,
    /// but 1,640 of 4,096 for 2,048 pages against 2,048).
    @inlinable @inline(__always) func homeSlot(of key: UInt64, capacity: Int) -> Int {
        homeSlot(of: key, hashShift: UInt64(truncatingIfNeeded: 64 &- capacity.trailingZeroBitCount))
    }

    /// The same with the shift a slot array keeps in its header (the
    /// lookup's form: no `tzcnt` on the way from the header to the slot).
    @inlinable @inline(__always) func homeSlot(of keyWord: UInt64, hashShift: UInt64) -> Int {
        let key = keyWord & PageTable.startMask
        let packed = (key &>> packShift) &<< UInt64(truncatingIfNeeded: blockShift) | key & blockMask
        return Int(truncatingIfNeeded: (packed &* 0x9E37_79B9_7F4A_7C15) &>> hashShift)
    }

    /// The slot of the entry whose folio starts at page `start` in `array`,
    /// its key word and its pointer word, or nil. Exact with the shard lock
    /// held; for lock-free callers only a candidate, which they verify (a
    /// probe racing with a backward shift may miss an entry, or pair one slot
    /// content's key with another's pointer).
    @inlinable @inline(__always) func find(_ start: UInt64, in array: SlotArray) -> (slot: Int, key: UInt64, pointer: UInt64)? {
        let header = array.header
        let mask = SlotArray.capacity(header: header) &- 1
        var i = homeSlot(of: start, hashShift: SlotArray.hashShift(header: header))
        var probed = 0
        while true {
            // Pointer first, acquiring: a pointer stored after its key
            // (release) comes with that key.
            let p = array.loadPointer(i)
            if p == 0 { return nil }
            let k = array.loadKey(i)
            if k & PageTable.startMask == start { return (i, k, p) }
            if probed == mask { return nil }  // every slot seen (a racing reader only)
            probed &+= 1
            i = (i &+ 1) & mask
        }
    }

    /// The slot and pointer of the entry covering page `index`, probing the
    /// starts of the orders in `orders` (a bitmask), largest first — or nil.
    /// Exact with the shard lock held and every order present in `orders`.
    @inlinable @inline(__always) func findCovering(_ index: UInt64, in array: SlotArray, orders: UInt64) -> (slot: Int, pointer: UInt64)? {
        var remaining = orders & ((2 &<< UInt64(truncatingIfNeeded: blockShift)) &- 1)
        var lastStart = UInt64.max
        while remaining != 0 {
            let order = UInt64(truncatingIfNeeded: 63 &- remaining.leadingZeroBitCount)
            remaining &= ~(1 &<< order)
            let start = index & ~((1 &<< order) &- 1)
            if start == lastStart { continue }
            lastStart = start
            if let (slot, k, p) = find(start, in: array), index &- start < 1 &<< (k &>> PageTable.orderShift) {
                return (slot, p)
            }
        }
        return nil
    }

    /// Every order this table accepts (a locked lookup need not trust
    /// `ordersPresent`, but may: see there).
    @inlinable var allOrders: UInt64 { (2 &<< UInt64(truncatingIfNeeded: blockShift)) &- 1 }

    // MARK: Lookup

    /// The live folio covering page `index`, pinned (and retained), or nil.
    @inlinable func lookupAndPin(_ index: PageIndex) -> Folio? {
        lookupAndPinUnretained(index)?.takeUnretainedValue()
    }

    /// The live folio covering page `index`, pinned but not retained: the pin
    /// keeps it in use and the cache's pool keeps the object alive, so the hit
    /// path needs no reference counting at all.
    @inlinable func lookupAndPinUnretained(_ index: PageIndex) -> Unmanaged<Folio>? {
        if let u = lookupLockFree(index, acquire: { $0.tryPin() }, release: { $0.unpin() }) { return u }
        return lookupAndPinLocked(index).map { Unmanaged.passUnretained($0) }
    }

    /// The lock-free attempt alone: finds the folio covering `index` and
    /// takes it with `acquire` — `tryPin`, or the hit path's pin and folio
    /// lock in one atomic — which must pin, and must refuse a folio that is
    /// not live (published, not detached, not free). Nil if the probe found
    /// nothing, `acquire` refused, or the checks below failed (then `release`
    /// has undone `acquire`); nil is not an answer — the caller falls back to
    /// `lookupAndPinLocked`.
    ///
    /// **Why accepting is right.** After `acquire` the candidate is pinned,
    /// so its index and order are fixed and it cannot be freed or recycled
    /// until the caller unpins it. It is then accepted when
    /// 1. this table's current slot array still holds it in the slot where
    ///    the probe found it — and a slot of a table points to a folio only
    ///    between the folio's publication and its detach (writers unlink
    ///    before they detach, and a folio is recycled only once detached), so
    ///    at that moment it was an entry of *this* table, not an incarnation
    ///    recycled into another file's table or to another page; and
    /// 2. it covers `index` (`contains`). A table holds at most one live
    ///    folio covering a page, except inside a collapse or split, where the
    ///    old and the new folio are each the entry for that page at some
    ///    instant of the change — either is a correct answer.
    /// So the candidate is the folio covering `index` in this table at the
    /// moment of the re-check. (Comparing its `mapping` instead would retain
    /// and release the shared mapping object on every hit.)
    ///
    /// Check 2 also does the job that the old `candidate.index == index`
    /// did without saying so: the probe loads a slot's pointer and then its
    /// key, and a backward-shift deletion rewrites a slot key first, pointer
    /// second, so a reader can pair the key of the entry moved in with the
    /// pointer of the entry moved out — a torn pair that the pointer re-check
    /// cannot see. With `contains`, a torn pair is accepted only if the
    /// pinned, live folio, still in this table's slot, covers `index`, which
    /// makes it the right answer anyway.
    @inlinable @inline(__always) func lookupLockFree(_ index: PageIndex, acquire: (Folio) -> Bool, release: (Folio) -> Void) -> Unmanaged<Folio>? {
        guard let probe = probeLockFree(index) else { return nil }
        let u = probe.candidate
        let found = u._withUnsafeGuaranteedRef { candidate -> Bool in
            guard acquire(candidate) else { return false }
            if probe.stillInSlot() && candidate.contains(index) {
                return true
            }
            release(candidate)
            return false
        }
        return found ? u : nil
    }

    /// The live folio covering page `index`, **neither pinned nor retained**,
    /// for a caller that holds page `index` in its file's page lock (per-inode:
    /// the file's lock; per-range: the page's range) in either mode. Nil if
    /// the probe found nothing or a check below failed; nil is not an answer —
    /// the caller falls back to `lookupAndPinUnretained`.
    ///
    /// **Why no pin is needed.** Every path that takes a folio out of the
    /// table, recycles it or takes its bytes — eviction, truncate, close,
    /// discard, collapse, split, compression and decompression — holds all of
    /// the folio's pages in the page lock exclusively while it does so, and
    /// so does a fill that inserts one. While the caller holds page `index`,
    /// the folio covering it in the table stays that folio, with its bytes.
    /// So a hit touches no line of the folio for writing (a pin and an unpin
    /// are two atomics on its state word, bounced between readers' cores).
    ///
    /// **Why accepting is right.** The candidate read from a slot may be any
    /// header of the pool, being recycled right now; its fields are read as a
    /// seqlock reader reads — the pool gives a folio a new incarnation inside
    /// one write of its `version` (`FolioPool.take`). Accepted when, with no
    /// such write between the first and the last load: its state says live
    /// (published, not detached, not free, not compressed), its index and
    /// order (from that same state load) cover `index`, and this table's
    /// current slot array still holds it in the slot where the probe found
    /// it. Then at that moment it was the folio covering `index` in this table
    /// (a slot points to a folio only between its publication and its
    /// detach), and from then on the caller's page lock keeps it so. A torn
    /// key/pointer pair from a backward shift (see `lookupLockFree`) fails
    /// the cover check: the pointer's own folio does not cover `index`
    /// unless it is the answer.
    @inlinable @inline(__always) func lookupUnderPageRange(_ index: PageIndex) -> Unmanaged<Folio>? {
        guard let (u, start, _) = beginUnpinnedRead(index) else { return nil }
        return u._withUnsafeGuaranteedRef { SeqCount.readValidate($0.version, start) } ? u : nil
    }

    /// The first half of an unpinned lookup, as a seqlock read of the
    /// candidate's fields (`lookupUnderPageRange` explains the checks): the
    /// candidate, the version its reads began at and the state it loaded
    /// (acquire) — live, covering `index`, in this table's slot — or nil. The
    /// caller must still validate the version (`SeqCount.readValidate`)
    /// before it trusts anything it read of the candidate, this state
    /// included: until then it may be reading an incarnation being made.
    /// `writerInside` runs when the candidate's version is odd (a writer
    /// changing its bytes, or the pool a new incarnation).
    @inlinable @inline(__always) func beginUnpinnedRead(_ index: PageIndex, writerInside: () -> Void = {}) -> (Unmanaged<Folio>, UInt64, UInt64)? {
        guard let probe = probeLockFree(index) else { return nil }
        return probe.candidate._withUnsafeGuaranteedRef { candidate -> (Unmanaged<Folio>, UInt64, UInt64)? in
            guard let start = SeqCount.readBegin(candidate.version) else {
                writerInside()
                return nil
            }
            // Acquire: pairs with the release that published it (its index,
            // data and mapping are visible).
            let state = candidate.state.load(ordering: .acquiring)
            guard state & Folio.liveMask == Folio.publishedBit else { return nil }
            let order = (state >> 8) & 0xFF
            guard index.rawValue &- candidate.indexWord.load(ordering: .relaxed) < 1 &<< order else { return nil }
            guard probe.stillInSlot() else { return nil }
            return (probe.candidate, start, state)
        }
    }

    /// What a lock-free probe found: the candidate folio of the slot covering
    /// the page (type-stable memory: the pointer may be stale, never
    /// dangling), and where, to check later that the slot still holds it.
    @usableFromInline struct LockFreeProbe {
        @usableFromInline let shard: ShardHandle
        @usableFromInline let address: UInt64
        @usableFromInline let array: SlotArray
        @usableFromInline let slot: Int
        @usableFromInline let pointer: UInt64
        @inlinable init(shard: ShardHandle, address: UInt64, array: SlotArray, slot: Int, pointer: UInt64) {
            self.shard = shard
            self.address = address
            self.array = array
            self.slot = slot
            self.pointer = pointer
        }
        @inlinable var candidate: Unmanaged<Folio> { PageTable.folio(at: pointer) }
        /// Whether this table's current slot array still holds the candidate
        /// in the slot where the probe found it.
        @inlinable @inline(__always) func stillInSlot() -> Bool {
            shard.loadSlotArrayAddress() == address && array.loadPointer(slot) == pointer
        }
    }

    /// The probe of the lock-free lookups: the slot covering `index` in the
    /// current slot array of its shard, without any lock.
    @inlinable @inline(__always) func probeLockFree(_ index: PageIndex) -> LockFreeProbe? {
        let shard = shard(for: index)
        // Acquire: pairs with the release that published a grown array, so
        // its capacity and slots are visible.
        let address = shard.loadSlotArrayAddress()
        let orders = ordersPresent.load(ordering: .relaxed)
        guard let array = SlotArray(address: address), let (slot, p) = findCovering(index.rawValue, in: array, orders: orders) else { return nil }
        return LockFreeProbe(shard: shard, address: address, array: array, slot: slot, pointer: p)
    }

    /// The same under the shard lock (a miss, or a slot that moved under the
    /// lock-free attempt). Exact: an entry found under the lock is live.
    @usableFromInline func lookupAndPinLocked(_ index: PageIndex) -> Folio? {
        let shard = shard(for: index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        guard let array = shard.slotArray, let (_, p) = findCovering(index.rawValue, in: array, orders: allOrders) else { return nil }
        let folio = PageTable.folio(at: p).takeUnretainedValue()
        // In the table, under the lock: live — unless compressed, which a
        // lookup treats as a miss (a CAS, so that it cannot pin a folio that
        // compression is taking the bytes of; `Folio.liveMask`).
        return folio.tryPin() ? folio : nil
    }

    /// The compressed folio covering page `index`, pinned, or nil.
    func lookupCompressedAndPin(_ index: PageIndex) -> Folio? {
        let shard = shard(for: index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        guard let array = shard.slotArray, let (_, p) = findCovering(index.rawValue, in: array, orders: allOrders) else { return nil }
        let folio = PageTable.folio(at: p).takeUnretainedValue()
        guard folio.flags.contains(.compressed) else { return nil }
        folio.pin()
        return folio
    }
}
