import FolioLocks

/// Changes to the page table, each done whole under the one shard lock of the
/// folios it touches (a folio's entries all live in one shard).
///
/// **Store order.** Lock-free lookups read the table while it changes, so each
/// change stores in an order that leaves every intermediate state either
/// correct or refused by the reader's checks (`lookupLockFree`):
///
/// | change | stores, in order |
/// |---|---|
/// | insert | note the order in `ordersPresent` → publish the folio (release) → its entry: key (relaxed), then pointer (release) |
/// | remove | backward shift (each move: key, then pointer), then 0 into the last hole (release) → detach the folio |
/// | collapse | publish the new folio (release) → the first old folio's slot: key (the new order), then pointer := the new folio (release) → remove the other old entries (backward shift) → detach every old folio |
/// | split | publish every new folio (release) → the old folio's slot: key, then pointer := the first piece → insert the other pieces' entries → detach the old folio |
/// | grow | fill the new array (not yet visible) → retire the old one → store the new array's address (release) |
///
/// The rules behind the table. Two of them carry correctness; the others
/// only spare readers needless refusals (a refused reader takes the lock):
/// - **Unlinked before detached** (correctness). A folio is detached only
///   after no slot of the table points to it. A detached folio can be freed
///   by the next unpin and recycled, into another file's table or to another
///   page; if a slot still pointed to it, the reader's re-check of that slot
///   would vouch for the recycled incarnation — another file's data. This is
///   the invariant the lock-free lookup rests on: *a slot points to a folio
///   only while it is published and not detached.* (Callers that pin what
///   they remove also keep it from being freed meanwhile; the table does not
///   count on that.)
/// - **Old arrays outlive their readers** (memory safety). Growth retires the
///   old array instead of freeing it (freed in deinit); a reader still
///   probing it fails its re-check of the shard's current array.
/// - **Published before visible.** A reader may pin a folio as soon as it
///   sees its pointer; an unpublished one would only be refused by `tryPin`
///   (whose acquire pairs with the publishing release, so whoever pins a
///   folio sees its index, order and data).
/// - **Key before pointer.** A reader that sees a pointer sees its key, so
///   inserts and moves do not show an entry under a stale key; such a pair
///   would be refused by the reader's `contains` check, or its folio would be
///   the right answer anyway.
/// - **Filled before published** (growth): a half-filled array would only
///   make readers miss.
extension PageTable {
    // MARK: Insert

    /// Inserts `folio` (of order at most `blockShift`, not yet published) —
    /// its one entry — or, if any page it covers is taken, nothing,
    /// returning the folio that covers the first taken page, pinned.
    ///
    /// Store order: the folio's order is noted in `ordersPresent` and the
    /// folio published (release) before its entry can be seen; the entry's
    /// key is stored before its pointer (release).
    func insertOrPinExisting(_ folio: Folio) -> Folio? {
        let first = folio.index.rawValue
        let pages = folio.pageCount
        precondition(Int(folio.order) <= blockShift, "PageTable: a folio of order \(folio.order) in a table of blocks of order \(blockShift)")
        assert(first <= PageTable.startMask, "PageTable: page index \(first) too large")
        assert(folio.state.load(ordering: .relaxed) & Folio.liveMask == 0, "PageTable: inserting a folio that is published, detached or free")
        let shard = shard(for: folio.index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        if let array = shard.slotArray {
            // A folio covering the first page (starting there or before), then
            // one starting at each later page.
            var hit = findCovering(first, in: array, orders: allOrders).map(\.pointer)
            if hit == nil {
                for start in first &+ 1..<first &+ UInt64(pages) {
                    if let (_, _, p) = find(start, in: array) {
                        hit = p
                        break
                    }
                }
            }
            if let p = hit {
                let existing = PageTable.folio(at: p).takeUnretainedValue()
                existing.pin()  // in the table, under the lock: live
                return existing
            }
        }
        reserve(1, in: shard)
        let array = shard.slotArray.unsafelyUnwrapped
        ordersPresent.bitwiseOr(1 << UInt64(folio.order), ordering: .relaxed)
        folio.state.bitwiseOr(Folio.publishedBit, ordering: .releasing)
        store(folio, in: array)
        shard.entryCount += 1
        shard.folioCount += 1
        return nil
    }

    /// Stores `folio`'s entry in an empty slot of its probe run (lock held):
    /// key, then pointer (release).
    func store(_ folio: Folio, in array: SlotArray) {
        let key = PageTable.keyWord(of: folio)
        let slot = emptySlot(for: key, in: array)
        array.storeKey(slot, key)
        array.storePointer(slot, PageTable.word(of: folio))
    }

    /// The first empty slot of `key`'s probe run (lock held; the load factor
    /// guarantees one).
    func emptySlot(for key: UInt64, in array: SlotArray) -> Int {
        let mask = array.capacity - 1
        var i = homeSlot(of: key, capacity: array.capacity)
        while array.loadPointer(i) != 0 { i = (i + 1) & mask }
        return i
    }

    /// Makes room for `more` entries at a load factor of at most 3/4 (lock
    /// held): grows the slot array (4 slots at first) by doubling, as often
    /// as needed, in one step.
    func reserve(_ more: Int, in shard: ShardHandle) {
        let capacity = shard.slotArray?.capacity ?? 0
        let needed = shard.entryCount + more
        guard needed * 4 > capacity * 3 else { return }
        var grown = max(1 << SlotArray.minimumCapacityShift, capacity * 2)
        while needed * 4 > grown * 3 { grown *= 2 }
        grow(shard, to: grown)
    }

    /// Replaces a shard's slot array with an empty one of `capacity` slots
    /// holding the same entries (lock held).
    ///
    /// Store order: the new array is filled while no reader can see it, the
    /// old one is retired, then the new address is stored (release: a reader
    /// that loads it sees the filled array). The old array is kept, not
    /// freed: a lock-free reader may still be probing it (it then fails its
    /// re-check of the shard's current array).
    func grow(_ shard: ShardHandle, to capacity: Int) {
        let new = SlotArray.allocate(capacity: capacity)
        if let old = shard.slotArray {
            for slot in 0..<old.capacity {
                let p = old.loadPointer(slot)
                guard p != 0 else { continue }
                let key = old.loadKey(slot)
                let to = emptySlot(for: key, in: new)
                new.storeKey(to, key)
                new.storePointer(to, p)
            }
            old.nextRetired = shard.retiredHead
            shard.retiredHead = old
        }
        shard.publish(new)
    }

    // MARK: Remove

    /// Removes `folio` — all of its entries — if it is still in the table and,
    /// with `onlyIfUnpinned`, pinned at most `allowedPins` times; marks it
    /// detached (a thread that pinned it before sees that after locking it
    /// and retries its lookup; `tryPin` refuses it from now on). Returns
    /// whether it was removed. The folio returns to the pool once it is also
    /// unlisted and unpinned (see `Folio.retireIfIdle`). The caller pins
    /// `folio`: that keeps its index and order stable while the table reads
    /// them, and keeps it from being recycled under the caller.
    ///
    /// The pin check is exact only against pins taken under this shard lock
    /// (`lookupAndPinLocked`, `insertOrPinExisting`): a lock-free lookup can
    /// pin the folio just after the check. Such a pinner holds a folio that
    /// is about to be detached, and finds out by its detached re-check under
    /// the page lock, which the remover holds.
    ///
    /// Store order: each entry leaves by backward-shift deletion (every move
    /// key before pointer, 0 into the last hole), and the folio is detached
    /// only after its last entry is gone (unlinked before detached).
    func remove(_ folio: Folio, onlyIfUnpinned: Bool, allowedPins: UInt64 = 0) -> Bool {
        let shard = shard(for: folio.index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        guard let array = shard.slotArray, let slot = slot(of: folio, in: array) else { return false }
        if onlyIfUnpinned && folio.pinCount > allowedPins { return false }
        deleteEntry(atSlot: slot, in: array)
        shard.entryCount -= 1
        shard.folioCount -= 1
        folio.setFlags(.detached)
        return true
    }

    /// Empties `slot` by backward-shift deletion (lock held): pulls the later
    /// entries of its probe run into the hole so that lookups never need
    /// tombstones. A lock-free reader racing with the shift may miss an entry
    /// (it then takes the lock) or see a torn pair (refused, see
    /// `lookupLockFree`).
    func deleteEntry(atSlot slot: Int, in array: SlotArray) {
        let mask = array.capacity - 1
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            let pj = array.loadPointer(j)
            guard pj != 0 else { break }
            let kj = array.loadKey(j)
            let h = homeSlot(of: kj, capacity: mask + 1)
            // Move slot j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                array.storeKey(hole, kj)
                array.storePointer(hole, pj)
                hole = j
            }
        }
        array.storePointer(hole, 0)
    }

    /// The slot of `folio`'s entry in `array`, if the table holds it (lock
    /// held).
    func slot(of folio: Folio, in array: SlotArray) -> Int? {
        guard let (slot, key, p) = find(folio.index.rawValue, in: array), p == PageTable.word(of: folio) else { return nil }
        assert(key == PageTable.keyWord(of: folio), "PageTable: the entry of the folio at \(folio.index.rawValue) has order \(key >> PageTable.orderShift), the folio \(folio.order)")
        return slot
    }

    // MARK: Collapse and split

    /// Collapse: replaces `old` — folios whose pages exactly tile
    /// `new.pages`, in ascending order — by `new` (not yet published), if
    /// each old folio is still the entry at each of its pages, pinned at
    /// most `allowedPins` times and by no view reading in place (no mapped
    /// pin, `Folio.oneMappedPin`). Returns false, changing nothing, otherwise.
    /// Every old folio is detached. As for `remove`, the pin check is exact
    /// only against pins taken under this shard lock: the caller holds the
    /// page locks of the old folios so that a lock-free pinner finds them
    /// detached when it gets their lock.
    ///
    /// Store order: `new` is published (release); the first old folio's slot
    /// (the same start) gets the new key, then the new pointer (release);
    /// the other old entries are deleted; every old folio is detached. A
    /// lock-free reader finds, at each page, an old folio — still the entry
    /// there at that instant, or refused by its post-pin slot check or, under
    /// the page lock, its detached re-check — or the new one, or nothing (it
    /// then takes the lock). A torn key/pointer pair of the rewritten slot is
    /// refused by the post-pin `contains` check or is the right answer.
    func replace(_ old: [Folio], with new: Folio, allowedPins: UInt64 = 0) -> Bool {
        precondition(PageTable.tile(old, new.pages), "PageTable.replace: the old folios do not tile pages \(new.index.rawValue)..<\(new.endIndex.rawValue) in ascending order")
        precondition(Int(new.order) <= blockShift, "PageTable: a folio of order \(new.order) in a table of blocks of order \(blockShift)")
        assert(new.state.load(ordering: .relaxed) & Folio.liveMask == 0, "PageTable.replace: the new folio is published, detached or free")
        let shard = shard(for: new.index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        guard let array = shard.slotArray else { return false }
        var slots: [Int] = []
        slots.reserveCapacity(old.count)
        for f in old {
            guard let slot = slot(of: f, in: array), f.pinCount <= allowedPins, f.mappedPinCount == 0 else { return false }
            slots.append(slot)
        }
        ordersPresent.bitwiseOr(1 << UInt64(new.order), ordering: .relaxed)
        new.state.bitwiseOr(Folio.publishedBit, ordering: .releasing)
        // The first old folio starts where the new one does: its slot becomes
        // the new entry (same start, so the same probe run).
        array.storeKey(slots[0], PageTable.keyWord(of: new))
        array.storePointer(slots[0], PageTable.word(of: new))
        for f in old.dropFirst() {
            // (Each deletion may move the others' entries: find them again.)
            if let slot = slot(of: f, in: array) { deleteEntry(atSlot: slot, in: array) }
        }
        for f in old { f.setFlags(.detached) }
        shard.entryCount -= old.count - 1
        shard.folioCount -= old.count - 1
        return true
    }

    /// Split: replaces `old` by `new` — folios (not yet published) whose
    /// pages exactly tile `old.pages`, in ascending order — if `old` is still
    /// the entry at each of its pages, pinned at most `allowedPins` times and
    /// not mapped. Returns false, changing nothing, otherwise. `old` is detached. The
    /// same caveat on pins as for the collapse.
    ///
    /// Store order: room is made first (growth, while `old` is still the
    /// entry); every new folio is published (release); the old slot (the
    /// same start as the first piece) gets the first piece's key, then
    /// pointer (release); the other pieces' entries are stored; `old` is
    /// detached — the collapse's order, reversed roles.
    func replace(_ old: Folio, with new: [Folio], allowedPins: UInt64 = 0) -> Bool {
        precondition(PageTable.tile(new, old.pages), "PageTable.replace: the new folios do not tile pages \(old.index.rawValue)..<\(old.endIndex.rawValue) in ascending order")
        for f in new {
            assert(f.state.load(ordering: .relaxed) & Folio.liveMask == 0, "PageTable.replace: a new folio is published, detached or free")
        }
        let shard = shard(for: old.index)
        shard.mutex.lock()
        defer { shard.mutex.unlock() }
        guard let array = shard.slotArray, slot(of: old, in: array) != nil, old.pinCount <= allowedPins, old.mappedPinCount == 0 else { return false }
        // Room first: growth moves every entry (the old folio's too).
        reserve(new.count - 1, in: shard)
        let grown = shard.slotArray.unsafelyUnwrapped
        guard let slot = slot(of: old, in: grown) else { return false }
        var orders: UInt64 = 0
        for f in new { orders |= 1 << UInt64(f.order) }
        ordersPresent.bitwiseOr(orders, ordering: .relaxed)
        for f in new { f.state.bitwiseOr(Folio.publishedBit, ordering: .releasing) }
        grown.storeKey(slot, PageTable.keyWord(of: new[0]))
        grown.storePointer(slot, PageTable.word(of: new[0]))
        for f in new.dropFirst() { store(f, in: grown) }
        old.setFlags(.detached)
        shard.entryCount += new.count - 1
        shard.folioCount += new.count - 1
        return true
    }

    /// Whether `parts` cover exactly `pages`, in ascending order, without gaps
    /// or overlaps.
    static func tile(_ parts: [Folio], _ pages: Range<PageIndex>) -> Bool {
        var next = pages.lowerBound
        for f in parts {
            guard f.index == next else { return false }
            next = f.endIndex
        }
        return !parts.isEmpty && next == pages.upperBound
    }

    // MARK: Snapshots

    /// The folios that cover any page at or after `from` and satisfy
    /// `predicate`, each once and pinned, in ascending index order — the
    /// first may start before `from` (a folio that straddles it). Each shard
    /// is read under its lock, so a folio inserted or removed meanwhile may
    /// or may not be in the snapshot.
    func pinnedFolios(from: PageIndex = PageIndex(0), where predicate: (Folio) -> Bool = { _ in true }) -> [Folio] {
        var out: [Folio] = []
        for n in 0..<PageTable.shardCount {
            let shard = shard(number: n)
            shard.mutex.lock()
            defer { shard.mutex.unlock() }
            guard let array = shard.slotArray else { continue }
            for slot in 0..<array.capacity {
                let p = array.loadPointer(slot)
                guard p != 0 else { continue }
                let folio = PageTable.folio(at: p).takeUnretainedValue()
                // (In the table, under the lock: its index and order are
                // stable.)
                guard folio.endIndex > from, predicate(folio) else { continue }
                folio.pin()
                out.append(folio)
            }
        }
        out.sort { $0.index < $1.index }
        return out
    }

    /// The number of folios in the table (a snapshot; a folio of order k
    /// counts once, not 2^k times).
    var count: Int { sumOverShards { $0.folioCount } }

    /// The number of entries — one per folio (a snapshot).
    var entryCount: Int { sumOverShards { $0.entryCount } }

    func sumOverShards(_ field: (ShardHandle) -> Int) -> Int {
        var n = 0
        for i in 0..<PageTable.shardCount {
            let shard = shard(number: i)
            shard.mutex.lock()
            n += field(shard)
            shard.mutex.unlock()
        }
        return n
    }
}
