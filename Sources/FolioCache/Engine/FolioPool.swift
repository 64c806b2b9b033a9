import FolioLocks
#if canImport(Glibc)
import Glibc
#endif

/// Every folio header a cache has ever made, the free ones among them, and
/// free data buffers by order.
///
/// **Headers are type-stable.** A header is never freed while its cache
/// lives: a folio that leaves the page table (evicted, truncated, closed) and
/// is no longer pinned or listed by the eviction policy comes back here and is
/// reused by a later miss. That is what lets a lookup read a folio pointer
/// from the page table without its lock and then try to pin it (`tryPin`
/// fails on a free or recycled folio instead of touching freed memory) — the
/// trick of Linux's SLAB_TYPESAFE_BY_RCU page cache lookups. Headers are 64
/// bytes; there are at most as many as the cache has ever had folios at once
/// (resident plus in flight).
///
/// **Data buffers are separate**, `pageSize << order` bytes (plus a large
/// folio's dirty bitmap, 8 bytes per 64 pages, after the data), 64-byte aligned,
/// and only touched by a thread that pins their folio, holds its pages in the
/// page lock, or copies optimistically inside a section of `readers`. A free folio has none:
/// `put` moves its buffer to the free list of its order and `take` attaches
/// one of the order asked for.
///
/// **Trim policy.** Free buffers are kept for reuse (a miss then allocates
/// nothing) up to `retainedFreeBytes` in all — a quarter of the cache's
/// capacity, and at least two buffers of the largest order — beyond that a
/// returned buffer goes back to malloc. `trim()` (called by
/// `PageCache.shrink(toBytes:)`) releases every free buffer. So the memory of
/// a cache is its resident folio data (the budget) plus at most
/// `retainedFreeBytes` of free buffers plus one 80-byte malloc chunk per
/// header — plus the buffers in limbo, below.
///
/// **Buffers go back to malloc after a grace period.** An optimistic read
/// hit (`CachedFile+OptimisticRead.swift`) copies from a folio's buffer
/// without pinning the folio, inside a section of `readers`; the folio may
/// be evicted and its buffer returned meanwhile. A buffer kept for reuse
/// stays valid memory (the reader's validation then rejects what it copied);
/// one bound for malloc goes to **limbo** first and is freed only once every
/// reader slot has been seen empty since (`ReaderSlots`). Limbo is checked at
/// every `take` and return while it is not empty; a reader is inside for
/// tens of nanoseconds unless it is preempted there, so limbo holds the
/// buffers returned since about the last pool operation.
@usableFromInline
final class FolioPool: @unchecked Sendable {
    // @unchecked Sendable: `all`, `freeHeaders`, `freeBuffers` and
    // `freeBytes` are accessed only under `lock`.
    let lock = ShortLock(.pool)
    var all: [Folio] = []
    var freeHeaders: [Folio] = []
    /// Free data buffers, by order.
    var freeBuffers: [[UnsafeMutableRawPointer]]
    var freeBytes = 0
    /// Buffers bound for malloc, waiting for the readers that may still
    /// copy from them, oldest first (under `lock`).
    var limbo: [LimboBatch] = []
    var limboBytes = 0
    let pageShift: UInt8
    let maxOrder: UInt8
    let retainedFreeBytes: Int
    /// The read-side sections of the optimistic read hits of this cache.
    let readers: ReaderSlots

    /// Buffers that went unreachable together, and the reader slots not yet
    /// seen empty since.
    struct LimboBatch {
        var buffers: [UnsafeMutableRawPointer]
        var bytes: Int
        var pending: UInt64
    }

    init(pageSize: Int, maxOrder: Int, capacity: Int) {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "FolioPool: page size \(pageSize) is not a power of two")
        precondition(maxOrder >= 0 && maxOrder <= Int(Folio.maxOrder), "FolioPool: order \(maxOrder) out of range")
        self.pageShift = UInt8(pageSize.trailingZeroBitCount)
        self.maxOrder = UInt8(maxOrder)
        self.freeBuffers = Array(repeating: [], count: maxOrder + 1)
        self.retainedFreeBytes = max(capacity / 4, 2 * (pageSize << maxOrder))
        self.readers = ReaderSlots()
    }

    deinit {
        // Nobody reads any more: the cache is going away.
        for list in freeBuffers { for b in list { b.deallocate() } }
        for batch in limbo { for b in batch.buffers { b.deallocate() } }
        // Headers (in `all`) free their own buffers in their deinit.
    }

    /// A folio for pages `[index, index + 2^order)` of `mapping`: pinned
    /// once, not yet published. With `zeroed`, its bytes are zero; otherwise
    /// they are whatever a previous user left, and the caller must write all
    /// of them before the folio is marked uptodate.
    func take(index: PageIndex, order: UInt8 = 0, mapping: MappingCore, zeroed: Bool) -> Folio {
        precondition(order <= maxOrder, "FolioPool.take: order \(order) above the cache's maximum \(maxOrder)")
        assert(index.rawValue & ((1 << UInt64(order)) - 1) == 0, "FolioPool.take: index \(index.rawValue) not aligned to order \(order)")
        let bytes = 1 << (Int(pageShift) + Int(order))
        lock.lock()
        let header = freeHeaders.popLast()
        let buffer = freeBuffers[Int(order)].popLast()
        if buffer != nil { freeBytes -= bytes }
        let graceOver = limbo.isEmpty ? [] : collectGraceOver()
        let folio: Folio
        if let header {
            folio = header
        } else {
            folio = Folio(index: index, order: order, pageShift: pageShift)
            all.append(folio)
        }
        lock.unlock()
        Self.deallocate(graceOver)
        let words = Folio.dirtyWordCount(order: order)
        let data = buffer ?? UnsafeMutableRawPointer.allocate(byteCount: bytes + words * 8, alignment: 64)
        if zeroed { data.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        // A large folio's dirty bitmap trails its data (`Folio+Dirty.swift`):
        // clean whatever a previous user left.
        if words > 0 { (data + bytes).initializeMemory(as: UInt64.self, repeating: 0, count: words) }
        assert(folio.data == nil, "FolioPool.take: a free folio still has a buffer")
        // A new incarnation is one write of the version: a lookup that reads
        // a folio's fields without pinning it (`PageTable.lookupUnderPageRange`)
        // and saw the old incarnation's index or geometry fails its
        // validation. (Nothing else writes the version of a free folio.)
        SeqCount.beginWrite(folio.version)
        folio.data = data
        folio.index = index
        folio.mapping = mapping
        folio.policyPrev = nil
        folio.policyNext = nil
        // Release: index, mapping, geometry and the buffer are visible to
        // whoever pins this incarnation (tryPin acquires).
        folio.state.store(Folio.onePin | Folio.geometryBits(order: order, pageShift: pageShift), ordering: .releasing)
        SeqCount.endWrite(folio.version)
        return folio
    }

    /// A data buffer for a folio of `order` whose bytes the caller fills
    /// (decompression), its dirty bitmap clean.
    func takeBuffer(order: UInt8) -> UnsafeMutableRawPointer {
        let bytes = 1 << (Int(pageShift) + Int(order))
        lock.lock()
        let buffer = freeBuffers[Int(order)].popLast()
        if buffer != nil { freeBytes -= bytes }
        lock.unlock()
        let words = Folio.dirtyWordCount(order: order)
        let data = buffer ?? UnsafeMutableRawPointer.allocate(byteCount: bytes + words * 8, alignment: 64)
        if words > 0 { (data + bytes).initializeMemory(as: UInt64.self, repeating: 0, count: words) }
        return data
    }

    /// Takes back a data buffer of `order` that no folio uses any more
    /// (compression freed a folio's bytes), keeping it for reuse within the
    /// trim bound.
    func putBuffer(_ data: UnsafeMutableRawPointer, order: UInt8) {
        let bytes = 1 << (Int(pageShift) + Int(order))
        lock.lock()
        if freeBytes + bytes <= retainedFreeBytes {
            freeBuffers[Int(order)].append(data)
            freeBytes += bytes
        } else {
            retire([data], bytes: bytes)
        }
        let graceOver = limbo.isEmpty ? [] : collectGraceOver()
        lock.unlock()
        Self.deallocate(graceOver)
    }

    /// Takes back a folio that `retireIfIdle` marked free, and its buffer.
    func put(_ folio: Folio) {
        let order = Int(folio.order)
        let bytes = folio.byteCount
        let data = folio.data
        folio.data = nil
        folio.mapping = nil
        lock.lock()
        freeHeaders.append(folio)
        if let data {
            if freeBytes + bytes <= retainedFreeBytes {
                freeBuffers[order].append(data)
                freeBytes += bytes
            } else {
                retire([data], bytes: bytes)
            }
        }
        let graceOver = limbo.isEmpty ? [] : collectGraceOver()
        lock.unlock()
        Self.deallocate(graceOver)
    }

    /// Releases every free data buffer to malloc (headers stay: they are
    /// type-stable): at once those no reader can be copying from, the rest
    /// as soon as the readers that might have left — this waits for them,
    /// yielding, up to about 10 ms (a reader preempted inside its section),
    /// and leaves what is still in limbo to a later pool operation.
    func trim() {
        lock.lock()
        let lists = freeBuffers
        freeBuffers = Array(repeating: [], count: Int(maxOrder) + 1)
        let bytes = freeBytes
        freeBytes = 0
        let all = lists.flatMap { $0 }
        if !all.isEmpty { retire(all, bytes: bytes) }
        var graceOver = collectGraceOver()
        var waiting = !limbo.isEmpty
        lock.unlock()
        Self.deallocate(graceOver)
        var rounds = 0
        while waiting && rounds < 1000 {
            rounds += 1
            sched_yield()
            lock.lock()
            graceOver = collectGraceOver()
            waiting = !limbo.isEmpty
            lock.unlock()
            Self.deallocate(graceOver)
            if waiting && rounds > 100 { usleep(10) }
        }
    }

    /// Puts buffers that no folio or free list holds any more in limbo
    /// (under `lock`): every reader slot is still to be seen empty.
    private func retire(_ buffers: [UnsafeMutableRawPointer], bytes: Int) {
        limbo.append(LimboBatch(buffers: buffers, bytes: bytes, pending: readers.allSlots))
        limboBytes += bytes
    }

    /// Takes out of limbo the buffers whose grace period is over (under
    /// `lock`), for the caller to deallocate after unlocking. One look at
    /// the slots serves every batch: a slot empty now is empty after each
    /// batch went to limbo.
    private func collectGraceOver() -> [UnsafeMutableRawPointer] {
        let empty = readers.emptySlots()
        var over: [UnsafeMutableRawPointer] = []
        var kept = 0
        for i in limbo.indices {
            limbo[i].pending &= ~empty
            if limbo[i].pending == 0 {
                over += limbo[i].buffers
                limboBytes -= limbo[i].bytes
            } else {
                limbo[kept] = limbo[i]
                kept += 1
            }
        }
        limbo.removeLast(limbo.count - kept)
        return over
    }

    private static func deallocate(_ buffers: [UnsafeMutableRawPointer]) {
        for b in buffers { b.deallocate() }
    }

    /// (headers made, headers free, bytes of free buffers, bytes in limbo)
    /// — a snapshot.
    var counts: (total: Int, free: Int, freeBufferBytes: Int, limboBytes: Int) {
        lock.withLock { (all.count, freeHeaders.count, freeBytes, limboBytes) }
    }
}
