import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// Views: the accessors, EOF (the SIGBUS analogue), lifetime errors, pins,
/// fault-around and stale entries, for every strategy.
@Suite struct ViewTests {
    static let pageSize = 512

    /// A cache of `kind` over a memory backend holding `pages` pages, page p
    /// filled with byte `p + 1`.
    static func setUp(_ kind: LockStrategyKind, pages: Int = 8, capacityPages: Int = 64) throws -> (AnyPageCache, any CachedFileProtocol, MemoryBackend) {
        // One-page folios: these tests count faults and resident bytes per
        // page (views over large folios: LargeFolioRecheckTests).
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: pageSize, capacity: capacityPages * pageSize, maxFolioOrder: 0))
        let backend = MemoryBackend(path: "view-\(kind.rawValue)")
        let file = try cache.open(backend: backend)
        for p in 0..<pages { try file.write([UInt8](repeating: UInt8(p + 1), count: pageSize), at: Int64(p * pageSize)) }
        try file.flush()
        cache.shrink(toBytes: 0)
        return (cache, file, backend)
    }

    @Test(arguments: testedStrategies)
    func readsSeeTheFileInPlaceAndAcrossPages(_ kind: LockStrategyKind) throws {
        let (_, file, _) = try Self.setUp(kind)
        let view = try file.map(Int64(Self.pageSize / 2)..<Int64(6 * Self.pageSize))
        #expect(view.count == 6 * Self.pageSize - Self.pageSize / 2)
        // In place: inside page 1 (view offset 256 = file offset 512).
        let inPlace = try view.withUnsafeBytes(at: Int64(Self.pageSize / 2), count: 100) { [UInt8]($0) }
        #expect(inPlace == [UInt8](repeating: 2, count: 100))
        // Across pages 0 | 1 | 2 (copied).
        let across = try view.copyBytes(at: 0, count: 2 * Self.pageSize)
        #expect(across == [UInt8](repeating: 1, count: 256) + [UInt8](repeating: 2, count: 512) + [UInt8](repeating: 3, count: 256))
        let spanning = try view.withUnsafeBytes(at: 200, count: 100) { [UInt8]($0) }
        #expect(spanning == [UInt8](repeating: 1, count: 56) + [UInt8](repeating: 2, count: 44))
        #expect(try view.load(at: 0, as: UInt32.self) == 0x0101_0101)
        let s = view.statistics
        #expect(s.fills >= 3 && s.faults >= 3, "\(s)")
        #expect(s.mappedHits >= 1, "the second touch of page 1 is a mapped hit: \(s)")
    }

    @Test(arguments: testedStrategies)
    func writesAreSeenByReadAtOnceAndWrittenBack(_ kind: LockStrategyKind) throws {
        let (cache, file, backend) = try Self.setUp(kind)
        let view = try file.map(0..<Int64(8 * Self.pageSize), mode: .readWrite)
        try view.withUnsafeMutableBytes(at: 10, count: 4) { $0.copyBytes(from: [9, 9, 9, 9]) }
        try view.store([UInt8](repeating: 7, count: 600), at: Int64(Self.pageSize - 100))  // pages 0 | 1 | 2
        #expect(try file.read(count: 4, at: 10) == [9, 9, 9, 9], "visible to read on the same handle at once")
        #expect(try file.read(count: 600, at: Int64(Self.pageSize - 100)) == [UInt8](repeating: 7, count: 600))
        // Dirty: eviction writes them back before dropping them.
        cache.shrink(toBytes: 0)
        #expect(cache.statistics.residentBytes == 0)
        #expect(Array(backend.contents[10..<14]) == [9, 9, 9, 9])
        #expect(Array(backend.contents[(Self.pageSize - 100)..<(Self.pageSize + 500)]) == [UInt8](repeating: 7, count: 600))
        // And a flush writes back a dirty page that stays cached.
        try view.store([5], at: Int64(3 * Self.pageSize))
        try file.flush()
        #expect(backend.contents[3 * Self.pageSize] == 5)
    }

    @Test(arguments: testedStrategies)
    func badAccessesThrowTypedErrors(_ kind: LockStrategyKind) throws {
        let (_, file, _) = try Self.setUp(kind)
        let readOnly = try file.map(0..<Int64(2 * Self.pageSize))
        #expect(throws: FolioError.readOnlyView(path: file.path)) { try readOnly.store([1], at: 0) }
        #expect(throws: FolioError.self) { try readOnly.copyBytes(at: -1, count: 1) }
        #expect(throws: FolioError.self) { try readOnly.copyBytes(at: Int64(2 * Self.pageSize), count: 1) }
        #expect(throws: FolioError.self) { try readOnly.copyBytes(at: 1, count: Int.max) }
        #expect(throws: FolioError.self) { try file.map(-1..<5) }
        #expect(throws: FolioError.self) { try file.map(0..<5, faultAround: 1000) }
        readOnly.unmap()
        #expect(throws: FolioError.unmapped(path: file.path)) { try readOnly.copyBytes(at: 0, count: 1) }
        // A view outliving its handle.
        let view = try file.map(0..<Int64(Self.pageSize))
        _ = try view.copyBytes(at: 0, count: 1)
        try file.close()
        #expect(throws: FolioError.closed(path: file.path)) { try view.copyBytes(at: 0, count: 1) }
        #expect(throws: FolioError.closed(path: file.path)) { try view.withUnsafeBytes(at: 0, count: 1) { _ in () } }
    }

    /// After a truncate, touching the view past the new EOF throws and never
    /// returns stale bytes; growing the file makes the range valid again.
    @Test(arguments: testedStrategies)
    func truncateMakesTheTailFaultAndGrowthRevivesIt(_ kind: LockStrategyKind) throws {
        let (_, file, _) = try Self.setUp(kind)
        let view = try file.map(0..<Int64(8 * Self.pageSize), mode: .readWrite)
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize), count: 4) == [6, 6, 6, 6])  // mapped now
        try file.truncate(to: Int64(5 * Self.pageSize + 100))
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize), count: 100) == [UInt8](repeating: 6, count: 100))
        #expect(throws: FolioError.beyondEndOfFile(path: file.path, offset: Int64(5 * Self.pageSize + 100), size: Int64(5 * Self.pageSize + 100))) {
            try view.copyBytes(at: Int64(5 * Self.pageSize), count: 101)
        }
        #expect(throws: FolioError.self) { try view.withUnsafeBytes(at: Int64(6 * Self.pageSize), count: 1) { _ in () } }
        #expect(throws: FolioError.self) { try view.store([1], at: Int64(7 * Self.pageSize)) }
        try file.truncate(to: Int64(8 * Self.pageSize))
        #expect(try view.copyBytes(at: Int64(6 * Self.pageSize), count: 8) == [UInt8](repeating: 0, count: 8), "regrown range reads zeros")
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize + 98), count: 4) == [6, 6, 0, 0])
        try view.store([3], at: Int64(7 * Self.pageSize))
        #expect(try file.read(count: 1, at: Int64(7 * Self.pageSize)) == [3])
    }

    /// A folio pinned by a running view closure is never evicted; it is once
    /// the closure returns. A view keeps no pins between accesses, so a
    /// mapped page is evicted like any other and the next touch faults again.
    @Test(arguments: testedStrategies)
    func pinnedFoliosAreNotEvictedAndStaleEntriesFaultAgain(_ kind: LockStrategyKind) throws {
        let (cache, file, _) = try Self.setUp(kind)
        let view = try file.map(0..<Int64(8 * Self.pageSize))
        let residentInside = try view.withUnsafeBytes(at: 0, count: 8) { bytes -> Int in
            cache.shrink(toBytes: 0)
            #expect([UInt8](bytes) == [UInt8](repeating: 1, count: 8), "bytes stay valid while pinned")
            return cache.statistics.residentBytes
        }
        #expect(residentInside == Self.pageSize, "the pinned folio survived reclaim")
        cache.shrink(toBytes: 0)
        #expect(cache.statistics.residentBytes == 0, "unpinned after the closure: evicted")
        let faultsBefore = view.statistics.faults
        #expect(try view.copyBytes(at: 0, count: 8) == [UInt8](repeating: 1, count: 8))
        #expect(view.statistics.faults == faultsBefore + 1, "the stale entry faulted again")
        view.unmap()
        cache.shrink(toBytes: 0)
        #expect(cache.statistics.residentBytes == 0, "nothing pinned after unmap")
    }

    /// Fault-around maps the following cached pages with trylock only; it
    /// never reads from the backend; the pages it mapped are then hits.
    @Test(arguments: testedStrategies)
    func faultAroundMapsCachedNeighboursOnly(_ kind: LockStrategyKind) throws {
        let (_, file, backend) = try Self.setUp(kind)
        for p in [1, 2, 4] { _ = try file.read(count: 1, at: Int64(p * Self.pageSize)) }  // cache 1, 2, 4
        let readsBefore = backend.ioCounts.reads
        let view = try file.map(0..<Int64(8 * Self.pageSize), faultAround: 4)
        _ = try view.copyBytes(at: 0, count: 1)  // fault page 0: around it 1, 2, 4 are cached; 3 is not
        #expect(view.statistics.faultAroundMapped == 3, "\(view.statistics)")
        #expect(backend.ioCounts.reads == readsBefore + 1, "fault-around read nothing")
        for p in [1, 2, 4] { #expect(try view.copyBytes(at: Int64(p * Self.pageSize), count: 1) == [UInt8(p + 1)]) }
        #expect(view.statistics.faults == 1 && view.statistics.mappedHits == 3, "\(view.statistics)")
        // Without fault-around every page faults.
        let plain = try file.map(0..<Int64(8 * Self.pageSize))
        for p in 0..<3 { _ = try plain.copyBytes(at: Int64(p * Self.pageSize), count: 1) }
        #expect(plain.statistics.faults == 3 && plain.statistics.faultAroundMapped == 0)
    }
}

/// A backend whose writes take their bytes first and then stall: a writeback
/// in progress holds the page's old bytes for 50 ms.
final class SlowAfterCopyBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: `inner` is thread-safe; `stalls` is atomic.
    let inner = MemoryBackend(path: "slow-after-copy")
    let stalls = Atomic<Int>(0)
    var path: String { inner.path }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int { try inner.read(into: buffer, at: offset) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        try inner.write(bytes, at: offset)
        stalls.wrappingAdd(1, ordering: .relaxed)
        usleep(50_000)
    }
    func size() throws(FolioError) -> Int64 { try inner.size() }
    func truncate(to size: Int64) throws(FolioError) { try inner.truncate(to: size) }
    func sync() throws(FolioError) { try inner.sync() }
    func close() throws(FolioError) {}
}

@Suite struct ViewWritebackTests {
    /// A view write whose closure is running when a flush of its page
    /// starts must not be lost. (With writers holding only a pin and `dirty`
    /// cleared after the I/O, the flush copied the old bytes, the closure
    /// changed the page, the flush marked it clean, and eviction dropped the
    /// change. Now the writer holds the page lock, so the flush waits for
    /// it; and `dirty` is cleared before the I/O.)
    @Test(arguments: testedStrategies)
    func aViewWriteDuringWritebackIsNotLost(_ kind: LockStrategyKind) throws {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 512, capacity: 64 * 512))
        let backend = SlowAfterCopyBackend()
        let file = try cache.open(backend: backend)
        try file.write([UInt8](repeating: 1, count: 512), at: 0)  // dirty
        let view = try file.map(0..<512, mode: .readWrite)
        let inClosure = Atomic<Bool>(false)
        let flushed = EventLog<Int>()
        spawnThread {
            _ = waitUntil { inClosure.load(ordering: .acquiring) }
            try? file.flush()  // copies the page, then stalls 50 ms
            flushed.append(1)
        }
        try view.withUnsafeMutableBytes(at: 0, count: 1) { bytes in
            inClosure.store(true, ordering: .releasing)
            // Give the flush its chance to start writing back meanwhile (it
            // cannot while this closure holds the page lock).
            _ = waitUntil(seconds: 0.3) { backend.stalls.load(ordering: .relaxed) > 0 }
            bytes[0] = 2
        }
        #expect(waitUntil { flushed.events.count == 1 })
        cache.shrink(toBytes: 0)  // writes back what is dirty, then evicts
        #expect(backend.inner.contents.first == 2, "\(kind): the view write was lost")
        #expect(try file.read(count: 1, at: 0) == [2])
        try file.close()
    }

    /// A view write racing close: it either lands before close writes back
    /// or fails with `.closed` — it never reports success for a write that
    /// close dropped.
    @Test(arguments: testedStrategies)
    func aViewWriteRacingCloseIsSavedOrRejected(_ kind: LockStrategyKind) throws {
        for round in 0..<stressIterations(50) {
            let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 512, capacity: 64 * 512))
            let backend = MemoryBackend(path: "close-race")
            let file = try cache.open(backend: backend)
            try file.write([UInt8](repeating: 1, count: 4 * 512), at: 0)
            let view = try file.map(0..<(4 * 512), mode: .readWrite)
            let stored = EventLog<Bool>()
            let gate = StartGate(parties: 2)
            spawnThread {
                gate.arriveAndWait()
                do { try view.store([9], at: Int64(512 + round % 512)); stored.append(true) } catch { stored.append(false) }
            }
            gate.arriveAndWait()
            try file.close()
            #expect(waitUntil { stored.events.count == 1 })
            if stored.events.first == true {
                #expect(backend.contents[512 + round % 512] == 9, "\(kind) round \(round): a successful view write was dropped by close")
            }
        }
    }
}
