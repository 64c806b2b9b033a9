/// S3-FIFO's ghost: a FIFO of the keys of folios recently evicted from the
/// small queue, bounded by the bytes those folios weighed, with O(1)
/// membership tests and removal.
///
/// Memory is fixed at creation and charged to the cache's budget
/// (`memoryBytes`): a ring of `2 × maxEntries` 8-byte fingerprints (room for
/// the holes ghost hits leave; it is compacted when it fills) plus an
/// open-addressing index of 4-byte ring positions (a power of two ≥ 1.5 ×
/// `maxEntries` slots, linear probing, backward-shift deletion) — 22–28
/// bytes per entry. `maxEntries` is the most folios of the smallest size that
/// fit in `capacityBytes`, so the byte bound decides what the ghost
/// remembers, as in libCacheSim.
///
/// A key is a 64-bit fingerprint of (file, first page) with the folio's order
/// in its low 4 bits (so an entry knows its weight). Two keys that collide in
/// the other 60 bits would be taken for one another: a folio would go to the
/// main queue instead of the small one, which costs a little miss ratio and
/// never correctness. Not thread-safe: the policy's lock protects it.
struct GhostFIFO: ~Copyable {
    let capacityBytes: Int
    let pageShift: Int
    let maxEntries: Int
    let ringSize: Int
    /// Ring of fingerprints, oldest at `tail`; 0 is a hole (an entry removed
    /// by a ghost hit).
    let ring: UnsafeMutablePointer<UInt64>
    /// Index: ring position + 1, or 0 for an empty slot.
    let index: UnsafeMutablePointer<UInt32>
    let indexMask: Int
    var head = 0  // next ring position to write
    var tail = 0  // oldest ring position
    var used = 0  // ring positions from tail to head, holes included
    private(set) var bytes = 0
    private(set) var count = 0

    init(capacityBytes: Int, pageSize: Int) {
        self.capacityBytes = max(0, capacityBytes)
        self.pageShift = pageSize.trailingZeroBitCount
        self.maxEntries = max(1, self.capacityBytes >> pageShift)
        ringSize = 2 * maxEntries
        ring = .allocate(capacity: ringSize)
        ring.initialize(repeating: 0, count: ringSize)
        var slots = 4
        while slots < maxEntries + maxEntries / 2 { slots <<= 1 }
        index = .allocate(capacity: slots)
        index.initialize(repeating: 0, count: slots)
        indexMask = slots - 1
    }

    deinit {
        ring.deallocate()
        index.deallocate()
    }

    /// The memory this ghost holds.
    var memoryBytes: Int { ringSize * 8 + (indexMask + 1) * 4 }

    /// The fingerprint of the folio of `order` at `page` of file `file`.
    static func key(file: UInt64, page: UInt64, order: UInt8) -> UInt64 {
        var x = file &* 0x9E37_79B9_7F4A_7C15 ^ page
        x ^= x >> 30; x = x &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 27; x = x &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let fp = (x & ~0xF) | UInt64(order & 0xF)
        return fp & ~0xF == 0 ? fp | 0x10 : fp  // never 0 (a hole)
    }

    func weight(_ fp: UInt64) -> Int { 1 << (pageShift + Int(fp & 0xF)) }

    func home(_ fp: UInt64) -> Int { Int(truncatingIfNeeded: fp >> 32 ^ fp) & indexMask }

    /// Index slot holding `fp`, or nil.
    func find(_ fp: UInt64) -> Int? {
        var i = home(fp)
        while true {
            let v = index[i]
            if v == 0 { return nil }
            if ring[Int(v) - 1] == fp { return i }
            i = (i + 1) & indexMask
        }
    }

    func contains(_ fp: UInt64) -> Bool { find(fp) != nil }

    /// Removes `fp` if present (a ghost hit); returns whether it was there.
    mutating func remove(_ fp: UInt64) -> Bool {
        guard let slot = find(fp) else { return false }
        let pos = Int(index[slot]) - 1
        ring[pos] = 0
        bytes -= weight(fp)
        count -= 1
        deleteIndexSlot(slot)
        return true
    }

    /// Remembers `fp` (nothing if it is already remembered: a FIFO hit),
    /// forgetting the oldest entries while the byte bound or the ring is
    /// exceeded.
    mutating func insert(_ fp: UInt64) {
        let w = weight(fp)
        guard w <= capacityBytes, !contains(fp) else { return }
        while bytes + w > capacityBytes || count == maxEntries { popOldest() }
        if used == ringSize { compact() }
        ring[head] = fp
        var i = home(fp)
        while index[i] != 0 { i = (i + 1) & indexMask }
        index[i] = UInt32(head + 1)
        head = head + 1 == ringSize ? 0 : head + 1
        used += 1
        bytes += w
        count += 1
    }

    mutating func popOldest() {
        guard used > 0 else { return }
        let fp = ring[tail]
        if fp != 0, let slot = find(fp) {
            ring[tail] = 0
            bytes -= weight(fp)
            count -= 1
            deleteIndexSlot(slot)
        }
        tail = tail + 1 == ringSize ? 0 : tail + 1
        used -= 1
    }

    /// Squeezes the holes out of a full ring (at most `maxEntries` live
    /// entries in `2 × maxEntries` positions, so this runs at most once per
    /// `maxEntries` inserts) and rebuilds the index.
    mutating func compact() {
        var live: [UInt64] = []
        live.reserveCapacity(count)
        var p = tail
        for _ in 0..<used {
            if ring[p] != 0 { live.append(ring[p]) }
            p = p + 1 == ringSize ? 0 : p + 1
        }
        ring.update(repeating: 0, count: ringSize)
        index.update(repeating: 0, count: indexMask + 1)
        for (j, fp) in live.enumerated() {
            ring[j] = fp
            var i = home(fp)
            while index[i] != 0 { i = (i + 1) & indexMask }
            index[i] = UInt32(j + 1)
        }
        tail = 0
        used = live.count
        head = used == ringSize ? 0 : used
    }

    /// Backward-shift deletion of an index slot.
    func deleteIndexSlot(_ slot: Int) {
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & indexMask
            let v = index[j]
            if v == 0 { break }
            let h = home(ring[Int(v) - 1])
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                index[hole] = v
                hole = j
            }
        }
        index[hole] = 0
    }
}
