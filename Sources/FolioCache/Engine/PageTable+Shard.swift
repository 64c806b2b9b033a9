import FolioLocks

/// The page table's raw memory, behind two small handles that name its words
/// and assert its layout in debug builds. Neither handle is ever laid over
/// the memory it describes: a handle is one pointer, and each access is one
/// word (an access to a whole Swift struct over a shard would overlap the
/// lock word that other threads CAS, and ThreadSanitizer rightly calls that a
/// race).
extension PageTable {
    /// One shard: one 64-byte cache line of words.
    ///
    /// | word | field | written | read without the lock |
    /// |---|---|---|---|
    /// | 0 | the lock (low 32 bits, a `RawWordMutex`) | `lock` / `unlock` (CAS, exchange) | by lockers only |
    /// | 1 | entries: slots in use (one per folio) | lock held | never |
    /// | 2 | address of the current slot array (0: none yet) | lock held, release store | acquire load by lock-free lookups |
    /// | 3 | head of the list of retired slot arrays (0: none) | lock held | never |
    /// | 4 | folios in the shard (equal to the entries; kept apart so that the layout report can check both) | lock held | never |
    /// | 5–7 | unused (the rest of the cache line) | – | – |
    @usableFromInline struct ShardHandle {
        @usableFromInline let words: UnsafeMutablePointer<UInt64>

        @inlinable @inline(__always) init(_ words: UnsafeMutablePointer<UInt64>) {
            assert(UInt(bitPattern: words) % 64 == 0, "PageTable: shard at \(words) is not cache-line aligned")
            self.words = words
        }

        @inlinable static var wordCount: Int { 8 }

        /// The shard's lock (word 0).
        @inlinable @inline(__always) var mutex: RawWordMutex {
            RawWordMutex(word: UnsafeMutableRawPointer(words).assumingMemoryBound(to: UInt32.self), lockClass: .pageTableShard)
        }

        /// The current slot array's address, for lock-free readers (acquire:
        /// pairs with `publish`).
        @inlinable @inline(__always) func loadSlotArrayAddress() -> UInt64 { RawAtomic64.loadAcquire(words + 2) }

        /// The current slot array (lock held).
        @inlinable var slotArray: SlotArray? { SlotArray(address: RawAtomic64.loadRelaxed(words + 2)) }

        /// Makes `array`, fully filled, the current slot array (lock held).
        /// Release: a reader that loads the address sees every word of it.
        func publish(_ array: SlotArray) { RawAtomic64.storeRelease(words + 2, array.address) }

        /// Slots in use (lock held).
        var entryCount: Int {
            get { Int(words[1]) }
            nonmutating set {
                assert(newValue >= 0, "PageTable: negative entry count")
                words[1] = UInt64(newValue)
            }
        }

        /// Folios in the shard (lock held).
        var folioCount: Int {
            get { Int(words[4]) }
            nonmutating set {
                assert(newValue >= 0 && newValue <= entryCount, "PageTable: folio count \(newValue) with \(entryCount) entries")
                words[4] = UInt64(newValue)
            }
        }

        /// The most recently retired slot array (lock held).
        var retiredHead: SlotArray? {
            get { SlotArray(address: words[3]) }
            nonmutating set { words[3] = newValue?.address ?? 0 }
        }
    }

    /// A slot array: a header and `capacity` slots of (key, pointer).
    ///
    /// | word | field |
    /// |---|---|
    /// | 0 | capacity: a power of two, at least 4; constant |
    /// | 1 | the next retired array (0: none), once this one is retired |
    /// | 2 + 2i | key of slot i: the first page of its folio (bits 0–55) and its order (bits 56–61) |
    /// | 3 + 2i | pointer of slot i: the address of that folio; 0 marks an empty slot |
    ///
    /// Lock-free readers load pointers acquiring and keys relaxed; writers
    /// (lock held) store keys relaxed and pointers releasing, so a reader
    /// that sees a pointer sees the key stored before it.
    @usableFromInline struct SlotArray: Equatable {
        @usableFromInline let words: UnsafeMutablePointer<UInt64>

        @inlinable @inline(__always) init?(address: UInt64) {
            guard let words = UnsafeMutablePointer<UInt64>(bitPattern: UInt(truncatingIfNeeded: address)) else { return nil }
            self.words = words
        }

        @inlinable static var headerWords: Int { 2 }
        @inlinable static var minimumCapacityShift: Int { 2 }

        /// A zeroed (all-empty) array of `capacity` slots.
        static func allocate(capacity: Int) -> SlotArray {
            precondition(capacity >= 1 << minimumCapacityShift && capacity & (capacity - 1) == 0, "PageTable: slot capacity \(capacity) is not a power of two ≥ 4")
            let count = headerWords + 2 * capacity
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 8, alignment: 64)
            let words = raw.bindMemory(to: UInt64.self, capacity: count)
            words.initialize(repeating: 0, count: count)
            // Word 0: the capacity, and above it the hash's shift (64 −
            // log2 capacity), so that a lookup gets both with one load.
            words[0] = UInt64(capacity) | UInt64(64 - capacity.trailingZeroBitCount) << 32
            return SlotArray(address: UInt64(UInt(bitPattern: raw))).unsafelyUnwrapped
        }

        func deallocate() { UnsafeMutableRawPointer(words).deallocate() }

        @inlinable var address: UInt64 { UInt64(UInt(bitPattern: words)) }

        /// Number of slots. Constant from allocation on; relaxed is enough for
        /// a reader that found the array through the acquiring load of its
        /// address.
        @inlinable @inline(__always) var capacity: Int { SlotArray.capacity(header: header) }

        /// Word 0, read once by a lookup: the capacity (low half) and the
        /// home slot's shift (high half).
        @inlinable @inline(__always) var header: UInt64 { RawAtomic64.loadRelaxed(words) }

        @inlinable @inline(__always) static func capacity(header: UInt64) -> Int {
            let c = Int(truncatingIfNeeded: header & 0xFFFF_FFFF)
            assert(c >= 1 << SlotArray.minimumCapacityShift && c & (c - 1) == 0, "PageTable: slot array capacity \(c)")
            return c
        }

        @inlinable @inline(__always) static func hashShift(header: UInt64) -> UInt64 { header &>> 32 }

        /// The list of retired arrays (lock held; word 1 is never read by
        /// lock-free readers).
        var nextRetired: SlotArray? {
            get { SlotArray(address: words[1]) }
            nonmutating set { words[1] = newValue?.address ?? 0 }
        }

        @inlinable @inline(__always) func keyWord(_ slot: Int) -> UnsafeMutablePointer<UInt64> {
            assert(slot >= 0 && slot < capacity, "PageTable: slot \(slot) out of 0..<\(capacity)")
            return words + (SlotArray.headerWords &+ 2 &* slot)
        }

        @inlinable @inline(__always) func pointerWord(_ slot: Int) -> UnsafeMutablePointer<UInt64> { keyWord(slot) + 1 }

        @inlinable @inline(__always) func loadKey(_ slot: Int) -> UInt64 { RawAtomic64.loadRelaxed(keyWord(slot)) }
        /// Acquire: pairs with `storePointer`, so the key stored before the
        /// pointer is visible.
        @inlinable @inline(__always) func loadPointer(_ slot: Int) -> UInt64 { RawAtomic64.loadAcquire(pointerWord(slot)) }
        @inlinable @inline(__always) func storeKey(_ slot: Int, _ key: UInt64) { RawAtomic64.storeRelaxed(keyWord(slot), key) }
        /// Release: pairs with `loadPointer`.
        @inlinable @inline(__always) func storePointer(_ slot: Int, _ pointer: UInt64) { RawAtomic64.storeRelease(pointerWord(slot), pointer) }
    }

    /// The pointer word of a folio.
    @inlinable @inline(__always) static func word(of folio: Folio) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(folio).toOpaque()))
    }

    /// The folio a non-zero pointer word points to (unretained; type-stable,
    /// so never dangling while the cache lives, though possibly stale).
    @inlinable @inline(__always) static func folio(at word: UInt64) -> Unmanaged<Folio> {
        assert(word != 0, "PageTable: folio pointer of an empty slot")
        return Unmanaged<Folio>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(truncatingIfNeeded: word)).unsafelyUnwrapped)
    }
}

// MARK: Layout check (tests)

extension PageTable {
    /// What `layoutReport()` found: broken invariants (empty when the table is
    /// sound) and the shape of the slot arrays.
    struct LayoutReport {
        var violations: [String] = []
        var entries = 0
        var folios = 0
        var largestCapacity = 0
        /// The longest distance from an entry's home slot to its slot.
        var longestProbe = 0
        /// Entries whose probe run wrapped past the end of the array.
        var wrappedEntries = 0
        var retiredArrays = 0
    }

    /// Checks every shard under its lock: each entry is in its shard,
    /// reachable from its home slot, the only entry of its key, and points to
    /// a published, not detached folio that starts at the key and has the
    /// key's order; each folio has exactly one entry; no two folios overlap;
    /// the counts and the load factor hold. For tests: O(capacity), and it takes every shard lock.
    func layoutReport() -> LayoutReport {
        var report = LayoutReport()
        for n in 0..<PageTable.shardCount {
            let shard = shard(number: n)
            shard.mutex.lock()
            defer { shard.mutex.unlock() }
            var retired = shard.retiredHead
            while let r = retired {
                report.retiredArrays += 1
                retired = r.nextRetired
            }
            guard let array = shard.slotArray else {
                if shard.entryCount != 0 || shard.folioCount != 0 { report.violations.append("shard \(n): counts \(shard.entryCount)/\(shard.folioCount) without a slot array") }
                continue
            }
            let capacity = array.capacity
            let mask = capacity - 1
            report.largestCapacity = max(report.largestCapacity, capacity)
            var entries = 0
            var pages: [UInt64: Int] = [:]  // pointer word → entries seen
            var spans: [(UInt64, UInt64)] = []  // the folios' page ranges
            for slot in 0..<capacity {
                let p = array.loadPointer(slot)
                guard p != 0 else { continue }
                entries += 1
                let keyWord = array.loadKey(slot)
                let key = keyWord & PageTable.startMask
                let folio = PageTable.folio(at: p).takeUnretainedValue()
                pages[p, default: 0] += 1
                if shardNumber(of: PageIndex(key)) != n { report.violations.append("shard \(n) slot \(slot): key \(key) belongs to shard \(shardNumber(of: PageIndex(key)))") }
                if keyWord != PageTable.keyWord(of: folio) { report.violations.append("shard \(n) slot \(slot): folio at \(folio.index.rawValue) of order \(folio.order) has the entry \(key) of order \(keyWord >> PageTable.orderShift)") }
                if ordersPresent.load(ordering: .relaxed) & (1 << UInt64(folio.order)) == 0 { report.violations.append("shard \(n) slot \(slot): order \(folio.order) missing from ordersPresent") }
                spans.append((folio.index.rawValue, folio.endIndex.rawValue))
                let state = folio.state.load(ordering: .relaxed)
                if state & Folio.liveMask != Folio.publishedBit { report.violations.append("shard \(n) slot \(slot): folio at \(folio.index.rawValue) is not live (state \(String(state, radix: 16)))") }
                if let (found, _, _) = find(key, in: array) {
                    if found != slot { report.violations.append("shard \(n) slot \(slot): key \(key) also at slot \(found), earlier in its probe run") }
                } else {
                    report.violations.append("shard \(n) slot \(slot): key \(key) unreachable from its home slot")
                }
                let home = homeSlot(of: key, capacity: capacity)
                report.longestProbe = max(report.longestProbe, (slot - home) & mask)
                if slot < home { report.wrappedEntries += 1 }
            }
            for (p, seen) in pages where seen != 1 {
                let folio = PageTable.folio(at: p).takeUnretainedValue()
                report.violations.append("shard \(n): folio at \(folio.index.rawValue) of order \(folio.order) has \(seen) entries")
            }
            spans.sort { $0.0 < $1.0 }
            for (a, b) in zip(spans, spans.dropFirst()) where a.1 > b.0 {
                report.violations.append("shard \(n): the folio at \(a.0)..<\(a.1) overlaps the one at \(b.0)")
            }
            if entries != shard.entryCount { report.violations.append("shard \(n): \(entries) entries, count says \(shard.entryCount)") }
            if pages.count != shard.folioCount { report.violations.append("shard \(n): \(pages.count) folios, count says \(shard.folioCount)") }
            if entries * 4 > capacity * 3 { report.violations.append("shard \(n): \(entries) entries in \(capacity) slots") }
            report.entries += entries
            report.folios += pages.count
        }
        return report
    }
}
