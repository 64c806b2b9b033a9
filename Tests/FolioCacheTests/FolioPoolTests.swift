@_spi(FolioInternals) @testable import FolioCache
import Testing

/// The pool keeps what `take` was asked for (order, page shift, a buffer of
/// the right size), reuses headers and buffers by order, and never keeps more
/// free buffer bytes than its trim bound.
@Suite struct FolioPoolTests {
    static let pageSize = 4096

    func makePool(capacityPages: Int, maxOrder: Int) -> (FolioPool, MappingCore) {
        let pool = FolioPool(pageSize: Self.pageSize, maxOrder: maxOrder, capacity: capacityPages * Self.pageSize)
        let mapping = MappingCore(backend: MemoryBackend(), pool: pool, pageSize: Self.pageSize, initialSize: 0, maxFolioOrder: maxOrder)
        return (pool, mapping)
    }

    /// What the engine does when a folio leaves for good: detached, unlisted,
    /// the last pin dropped — the last of the three returns it to the pool.
    func retire(_ folio: Folio) {
        folio.setFlags(.detached)
        folio.markUnlisted()
        folio.unpin()
    }

    @Test func takeKeepsTheOrderAndGivesABufferOfItsSize() {
        let (pool, mapping) = makePool(capacityPages: 64, maxOrder: 4)
        for order: UInt8 in [0, 2, 4] {
            let index = PageIndex(UInt64(1) << UInt64(order) * 3)
            let f = pool.take(index: index, order: order, mapping: mapping, zeroed: true)
            #expect(f.order == order, "the order survives take (it used to be overwritten with the state word)")
            #expect(f.pageShift == 12)
            #expect(f.byteCount == Self.pageSize << Int(order))
            #expect(f.pageCount == 1 << Int(order))
            #expect(f.pages == index..<PageIndex(index.rawValue + UInt64(f.pageCount)))
            #expect(f.contains(index) && f.contains(PageIndex(index.rawValue + UInt64(f.pageCount) - 1)))
            #expect(!f.contains(PageIndex(index.rawValue + UInt64(f.pageCount))))
            #expect(f.pinCount == 1)
            let data = try! #require(f.data)
            #expect(UInt(bitPattern: data) % 64 == 0)
            #expect(UnsafeRawBufferPointer(start: data, count: f.byteCount).allSatisfy { $0 == 0 })
            if order > 0 {
                // The bytes of page i of the folio: page-size steps from its start.
                #expect(f.bytes(of: PageIndex(index.rawValue + 1)) == data + Self.pageSize)
            }
            retire(f)
        }
    }

    @Test func headersAndBuffersAreReusedByOrder() {
        let (pool, mapping) = makePool(capacityPages: 64, maxOrder: 2)
        let a = pool.take(index: PageIndex(0), order: 2, mapping: mapping, zeroed: false)
        let aData = a.data
        a.data?.storeBytes(of: 0xAB, as: UInt8.self)
        retire(a)
        #expect(a.data == nil, "a free folio has no buffer")
        #expect(pool.counts == (total: 1, free: 1, freeBufferBytes: 4 * Self.pageSize, limboBytes: 0))
        // An order-0 take reuses the header but not the order-2 buffer.
        let b = pool.take(index: PageIndex(5), order: 0, mapping: mapping, zeroed: true)
        #expect(b === a)
        #expect(b.order == 0 && b.byteCount == Self.pageSize)
        #expect(b.data != aData)
        #expect(pool.counts.freeBufferBytes == 4 * Self.pageSize)
        // An order-2 take gets the order-2 buffer back, zeroed when asked.
        let c = pool.take(index: PageIndex(8), order: 2, mapping: mapping, zeroed: true)
        #expect(c.data == aData)
        #expect(c.data?.load(as: UInt8.self) == 0)
        #expect(pool.counts == (total: 2, free: 0, freeBufferBytes: 0, limboBytes: 0))
        retire(b)
        retire(c)
        pool.trim()
        #expect(pool.counts == (total: 2, free: 2, freeBufferBytes: 0, limboBytes: 0), "trim releases every free buffer, keeps the headers")
    }

    @Test func freeBuffersStayWithinTheTrimBound() {
        // 8 pages of capacity, largest folio 4 pages: the bound is
        // max(capacity / 4, 2 × largest) = 8 pages of free buffers.
        let (pool, mapping) = makePool(capacityPages: 8, maxOrder: 2)
        #expect(pool.retainedFreeBytes == 8 * Self.pageSize)
        let folios = (0..<20).map { pool.take(index: PageIndex(UInt64($0)), order: 0, mapping: mapping, zeroed: false) }
        for f in folios {
            retire(f)
            #expect(pool.counts.freeBufferBytes <= pool.retainedFreeBytes)
        }
        #expect(pool.counts == (total: 20, free: 20, freeBufferBytes: 8 * Self.pageSize, limboBytes: 0), "no reader inside: the buffers past the bound went back to malloc at once")
    }

    /// A buffer bound for malloc while a reader is inside a section stays in
    /// limbo until that reader leaves: an optimistic hit may still copy from
    /// it (`CachedFile+OptimisticRead.swift`).
    @Test func aBufferLeavesLimboOnlyAfterTheReadersInsideLeft() {
        let (pool, mapping) = makePool(capacityPages: 32, maxOrder: 0)
        let folios = (0..<12).map { pool.take(index: PageIndex(UInt64($0)), order: 0, mapping: mapping, zeroed: false) }
        for f in folios.prefix(8) { retire(f) }
        #expect(pool.counts.freeBufferBytes == 8 * Self.pageSize && pool.counts.limboBytes == 0)
        let slot = pool.readers.enter()
        retire(folios[8])
        retire(folios[9])
        #expect(pool.counts.limboBytes == 2 * Self.pageSize, "past the trim bound, with a reader inside: limbo")
        // Another pool operation while the reader is still inside frees nothing.
        let again = pool.take(index: PageIndex(100), order: 0, mapping: mapping, zeroed: false)
        #expect(pool.counts.limboBytes == 2 * Self.pageSize)
        pool.readers.leave(slot)
        // The next operation sees every slot empty and frees the batch.
        retire(folios[10])
        #expect(pool.counts.limboBytes == 0, "the reader left: limbo emptied at the next pool operation")
        // trim with a reader inside: what it cannot free stays in limbo, and
        // goes once the reader has left.
        retire(folios[11])
        retire(again)
        let inside = pool.readers.enter()
        pool.trim()
        #expect(pool.counts.freeBufferBytes == 0 && pool.counts.limboBytes > 0)
        pool.readers.leave(inside)
        pool.trim()
        #expect(pool.counts.freeBufferBytes == 0 && pool.counts.limboBytes == 0)
    }

    /// Through the engine: resident bytes are charged and refunded by the
    /// folio's size, and shrinking to nothing releases the pool's buffers.
    @Test func theEngineChargesAndRefundsSymmetrically() throws {
        let cache = try PageCache(strategy: PerPageBitLocking(), configuration: .init(pageSize: Self.pageSize, capacity: 16 * Self.pageSize))
        let file = try cache.open(backend: MemoryBackend(contents: [UInt8](repeating: 1, count: 64 * Self.pageSize)))
        for p in 0..<64 { _ = try file.read(count: 1, at: Int64(p * Self.pageSize)) }
        #expect(cache.statistics.residentBytes == cache.statistics.residentFolios * Self.pageSize)
        #expect(cache.statistics.residentBytes + cache.statistics.evictionOverheadBytes <= 16 * Self.pageSize, "evict, then insert: one thread never exceeds the budget")
        cache.shrink(toBytes: 0)
        #expect(cache.statistics.residentBytes == 0)
        #expect(cache.pool.counts.freeBufferBytes == 0)
        try file.close()
    }
}
