import FolioLocks
import Synchronization

/// A mapping's index → folio table: 64 shards, each a futex word and an
/// open-addressing hash table (linear probing, backward-shift deletion) in
/// memory the table owns. The lock is held only to find, insert or remove an
/// entry (and to pin what it finds), never across I/O or while sleeping on a
/// page lock — the role of the kernel's xarray lock. Nothing here is
/// cache-global.
///
/// Built on raw memory rather than `Dictionary`s in shard objects because on
/// the hit path every class reference the compiler touches is a retain and a
/// release: with shard objects, a lookup wrote the shard's and its lock's
/// shared reference counts four times (measured: most of a hit's cost with
/// two threads). Here a lookup writes only the shard's lock word and the found
/// folio's own header and state word.
@usableFromInline
final class PageTable: @unchecked Sendable {
    // @unchecked Sendable: each shard's slots are read and written only with
    // that shard's lock word held.

    @usableFromInline
    struct Slot {
        @usableFromInline var key: UInt64
        /// Owned (+1) reference; nil marks an empty slot.
        @usableFromInline var folio: Unmanaged<Folio>?
    }

    @usableFromInline
    struct Shard {
        @usableFromInline var lockWord: UInt32 = 0  // first: RawWordMutex word
        @usableFromInline var count: Int = 0
        @usableFromInline var mask: Int = 0
        @usableFromInline var slots: UnsafeMutablePointer<Slot>? = nil
        // Pads the header to a cache line so shards never share one.
        var pad: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    }

    @usableFromInline static let shardBits = 6
    @usableFromInline static let shardCount = 1 << shardBits
    @usableFromInline let shards: UnsafeMutablePointer<Shard>

    init() {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: PageTable.shardCount * MemoryLayout<Shard>.stride, alignment: 64)
        shards = raw.bindMemory(to: Shard.self, capacity: PageTable.shardCount)
        shards.initialize(repeating: Shard(), count: PageTable.shardCount)
    }

    deinit {
        for i in 0..<PageTable.shardCount {
            let s = shards + i
            if let slots = s.pointee.slots {
                for j in 0...s.pointee.mask { slots[j].folio?.release() }
                slots.deallocate()
            }
        }
        shards.deinitialize(count: PageTable.shardCount)
        shards.deallocate()
    }

    @inlinable func shard(_ index: PageIndex) -> UnsafeMutablePointer<Shard> {
        shards + Int(truncatingIfNeeded: index.rawValue) & (PageTable.shardCount - 1)
    }

    @inlinable static func lock(_ s: UnsafeMutablePointer<Shard>) -> RawWordMutex {
        RawWordMutex(word: UnsafeMutableRawPointer(s).assumingMemoryBound(to: UInt32.self))
    }

    /// Home slot of a key within a shard (the low bits chose the shard).
    @inlinable static func home(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: ((key >> UInt64(shardBits)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Slot index of `key` in shard `s`, or nil. Lock held.
    @inlinable static func find(_ key: UInt64, in s: UnsafeMutablePointer<Shard>) -> Int? {
        guard let slots = s.pointee.slots else { return nil }
        let mask = s.pointee.mask
        var i = home(key, mask)
        while let _ = slots[i].folio {
            if slots[i].key == key { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The folio at `index`, pinned (and retained), or nil. Pinning under the
    /// shard lock is what lets reclaim, which checks pins under the same
    /// lock, never free a folio somebody just found.
    @inlinable func lookupAndPin(_ index: PageIndex) -> Folio? {
        let s = shard(index)
        let m = PageTable.lock(s)
        m.lock()
        defer { m.unlock() }
        guard let i = PageTable.find(index.rawValue, in: s), let slots = s.pointee.slots,
              let u = slots[i].folio else { return nil }
        let folio = u.takeUnretainedValue()
        folio.pin()
        return folio
    }

    /// Inserts `folio` unless the index is taken; returns the existing folio,
    /// pinned, in that case.
    func insertOrPinExisting(_ folio: Folio) -> Folio? {
        let key = folio.index.rawValue
        let s = shard(folio.index)
        let m = PageTable.lock(s)
        m.lock()
        defer { m.unlock() }
        if let i = PageTable.find(key, in: s), let existing = s.pointee.slots?[i].folio?.takeUnretainedValue() {
            existing.pin()
            return existing
        }
        if (s.pointee.count + 1) * 4 > (s.pointee.mask + 1) * 3 || s.pointee.slots == nil { grow(s) }
        // `grow` guarantees storage.
        let slots = s.pointee.slots.unsafelyUnwrapped
        let mask = s.pointee.mask
        var i = PageTable.home(key, mask)
        while slots[i].folio != nil { i = (i + 1) & mask }
        slots[i] = Slot(key: key, folio: Unmanaged.passRetained(folio))
        s.pointee.count += 1
        return nil
    }

    /// Doubles a shard's slot array (16 slots at first). Lock held.
    func grow(_ s: UnsafeMutablePointer<Shard>) {
        let oldSlots = s.pointee.slots
        let oldCapacity = oldSlots == nil ? 0 : s.pointee.mask + 1
        let capacity = max(16, oldCapacity * 2)
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        slots.initialize(repeating: Slot(key: 0, folio: nil), count: capacity)
        let mask = capacity - 1
        if let oldSlots {
            for j in 0..<oldCapacity {
                guard let f = oldSlots[j].folio else { continue }
                var i = PageTable.home(oldSlots[j].key, mask)
                while slots[i].folio != nil { i = (i + 1) & mask }
                slots[i] = Slot(key: oldSlots[j].key, folio: f)
            }
            oldSlots.deallocate()
        }
        s.pointee.slots = slots
        s.pointee.mask = mask
    }

    /// Removes `folio` if it is still the entry at its index and, with
    /// `onlyIfUnpinned`, nobody pins it. Marks it detached (every thread that
    /// finds it afterwards, after locking it, retries its lookup). Returns
    /// whether it was removed.
    func remove(_ folio: Folio, onlyIfUnpinned: Bool) -> Bool {
        let key = folio.index.rawValue
        let s = shard(folio.index)
        let m = PageTable.lock(s)
        m.lock()
        guard let found = PageTable.find(key, in: s), let slots = s.pointee.slots,
              slots[found].folio?.toOpaque() == Unmanaged.passUnretained(folio).toOpaque()
        else {
            m.unlock()
            return false
        }
        if onlyIfUnpinned && folio.pinCount > 0 {
            m.unlock()
            return false
        }
        // Backward-shift deletion: pull later entries of the probe run into
        // the hole so that lookups never need tombstones.
        let mask = s.pointee.mask
        var hole = found
        var j = found
        while true {
            j = (j + 1) & mask
            guard slots[j].folio != nil else { break }
            let h = PageTable.home(slots[j].key, mask)
            // Move slot j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole] = Slot(key: 0, folio: nil)
        s.pointee.count -= 1
        folio.setFlags(.detached)
        m.unlock()
        Unmanaged.passUnretained(folio).release()  // the table's reference
        return true
    }

    /// A snapshot of the folios at indices ≥ `from`, each pinned, in
    /// ascending index order.
    func pinnedFolios(from: PageIndex = PageIndex(0), where predicate: (Folio) -> Bool = { _ in true }) -> [Folio] {
        var out: [Folio] = []
        for i in 0..<PageTable.shardCount {
            let s = shards + i
            let m = PageTable.lock(s)
            m.lock()
            if let slots = s.pointee.slots {
                for j in 0...s.pointee.mask {
                    guard let u = slots[j].folio, slots[j].key >= from.rawValue else { continue }
                    let f = u.takeUnretainedValue()
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
            let m = PageTable.lock(shards + i)
            m.lock()
            n += shards[i].count
            m.unlock()
        }
        return n
    }
}
