@testable import FolioCache
import FolioLocks
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// `PageCache.shutdown()`: every open file written back, synced and closed
/// (whatever its handles), background work stopped, every failure reported
/// at once, the cache refusing more; idempotent.
@Suite struct ShutdownTests {
    static let pageSize = 4096

    @Test(arguments: testedStrategies)
    func shutdownWritesEveryFileAndRefusesMore(_ kind: LockStrategyKind) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = try AnyPageCache(
            strategy: .init(kind: kind),
            configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20, writebackInterval: .seconds(3600)))
        try cache.startBackgroundCollapse(interval: .seconds(3600))
        let a = try cache.open(path: dir + "/a")
        let a2 = try cache.open(path: dir + "/a")  // a second handle of the same file
        let b = try cache.open(path: dir + "/b")
        try a.write(Array(repeating: 1, count: 3 * Self.pageSize + 5), at: 0)
        try a2.write(Array("second handle".utf8), at: Int64(5 * Self.pageSize))
        try b.write(Array("b".utf8), at: 100)
        try cache.shutdown()
        #expect(cache.isShutDown)
        #expect(cache.statistics.residentBytes == 0, "\(kind): shutdown left pages cached")
        let bytesA = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/a")))
        #expect(bytesA.count == 5 * Self.pageSize + 13 && bytesA[0..<3 * Self.pageSize + 5].allSatisfy { $0 == 1 }
                && Array(bytesA[(5 * Self.pageSize)...]) == Array("second handle".utf8), "\(kind): a write to a was lost")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/b")))[100] == UInt8(ascii: "b"))
        // Refused from now on, with the typed error.
        #expect(throws: FolioError.shutDown) { _ = try cache.open(path: dir + "/c") }
        #expect(throws: FolioError.shutDown) { _ = try cache.open(backend: MemoryBackend()) }
        #expect(throws: FolioError.shutDown) { _ = try a.read(count: 1, at: 0) }
        #expect(throws: FolioError.shutDown) { try b.write([1], at: 0) }
        #expect(throws: FolioError.shutDown) { try a2.sync() }
        #expect(throws: FolioError.shutDown) { try cache.startBackgroundCollapse(interval: nil) }
        #expect(a.isClosed && b.isClosed)
        try a.close()  // closing a handle of a closed file does nothing
        try cache.shutdown()  // idempotent
    }

    /// The background writeback worker stops (its timer cancelled) and is
    /// not restarted.
    @Test func shutdownStopsBackgroundWriteback() throws {
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: Self.pageSize, writebackInterval: .milliseconds(5)))
        let lifetime = try #require(cache.flusher?.lifetime)
        try cache.startBackgroundCollapse(interval: .milliseconds(5))
        try cache.shutdown()
        #expect(cache.flusher == nil && !cache.isWritingBackInBackground)
        // (The timer's cancel handler runs on its queue, soon after.)
        #expect(waitUntil { lifetime.stopped.load(ordering: .acquiring) }, "the flusher's timer was not cancelled")
        #expect(!cache.isCollapsingInBackground)
        #expect(throws: FolioError.shutDown) { try cache.startBackgroundWriteback(interval: .milliseconds(5)) }
    }

    /// Two files fail in two ways (writeback, fsync), a third is fine: the
    /// error names both, the third is closed, the failed ones stay open
    /// with their data; once the faults clear, a second shutdown closes
    /// them and their bytes reach the backend.
    @Test(arguments: [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange])
    func shutdownReportsEveryFailureAndRetries(_ kind: LockStrategyKind) throws {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let failingWrite = MemoryBackend(path: "failing-write"), failingSync = MemoryBackend(path: "failing-sync"), fine = MemoryBackend(path: "fine")
        let files = try [failingWrite, failingSync, fine].map { try cache.open(backend: $0) }
        for (i, f) in files.enumerated() { try f.write(Array(repeating: UInt8(i + 1), count: 10), at: 0) }
        failingWrite.failNextWrites(1000)
        failingSync.failNextSyncs(1)
        do {
            try cache.shutdown()
            Issue.record("\(kind): shutdown reported no failure")
        } catch {
            #expect(error.failures.map(\.path) == ["failing-write", "failing-sync"], "\(kind): \(error)")
            #expect(error.droppedHandleErrors.isEmpty)
        }
        #expect(fine.contents == Array(repeating: 3, count: 10) && files[2].isClosed)
        #expect(!files[0].isClosed && !files[1].isClosed, "\(kind): a file whose close failed was closed anyway")
        #expect(try files[0].read(count: 10, at: 0) == Array(repeating: 1, count: 10), "\(kind): the failed file lost its data")
        #expect(throws: FolioError.shutDown) { _ = try cache.open(backend: MemoryBackend()) }
        failingWrite.failNextWrites(0)
        try cache.shutdown()
        #expect(failingWrite.contents == Array(repeating: 1, count: 10) && failingSync.contents == Array(repeating: 2, count: 10))
        #expect(files.allSatisfy(\.isClosed) && cache.statistics.residentBytes == 0)
    }

    /// The dropped-handle rule: the last handle dropped without `close()`
    /// is closed by its deinit; if that fails, the file stays cached with its
    /// dirty pages and `shutdown()` writes them — and reports the error,
    /// which nobody took, rather than lose it.
    @Test func shutdownWritesAndReportsAFailedDroppedHandle() throws {
        let cache = try PageCache(strategy: PerPageBitLocking(), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let backend = MemoryBackend(path: "dropped")
        do {
            let f = try cache.open(backend: backend)
            try f.write([1, 2, 3], at: 0)
            backend.failNextWrites(1)
        }
        #expect(backend.contents.isEmpty && cache.statistics.residentBytes == Self.pageSize)
        do {
            try cache.shutdown()
            Issue.record("the dropped handle's error was not reported")
        } catch {
            #expect(error.failures.isEmpty && error.droppedHandleErrors.count == 1, "\(error)")
            #expect("\(error)".contains("dropped"))
        }
        #expect(backend.contents == [1, 2, 3], "shutdown did not write the dropped handle's pages")
        #expect(cache.statistics.residentBytes == 0)
        try cache.shutdown()  // reported once
    }

    /// Writers race `shutdown()`: every write that returned is on disk after
    /// it, every later one fails with `.shutDown` (and none with anything
    /// else). Each thread stamps its own pages with increasing numbers; the
    /// file must hold, per page, the last stamp acknowledged.
    @Test(arguments: [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange])
    func writesRacingShutdownAreOnDiskOrRefused(_ kind: LockStrategyKind) throws {
        let seed = testSeed()
        print("ShutdownTests.writesRacingShutdownAreOnDiskOrRefused seed \(seed) (replay: FOLIO_SEED=\(seed))")
        var rng = SplitMix64(seed: seed)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let threads = 3, pagesPerThread = 4, rounds = 3
        for round in 0..<rounds {
            let path = dir + "/race\(round)"
            let cache = try AnyPageCache(
                strategy: .init(kind: kind),
                configuration: .init(pageSize: Self.pageSize, capacity: 8 * Self.pageSize, writebackInterval: .milliseconds(1)))
            let file = try cache.open(path: path)
            // (pthread-mutex guarded: ThreadSanitizer cannot see `Mutex` on Linux.)
            let acked = AckTable(pages: threads * pagesPerThread)
            let unexpected = EventLog<String>()
            let delay = UInt32(rng.next() % 20_000) + 2_000
            let started = Atomic<Int>(0)
            runThreads(threads + 1) { t in
                if t == threads {
                    while started.load(ordering: .acquiring) < threads { sched_yield() }
                    usleep(delay)
                    do { try cache.shutdown() } catch { unexpected.append("shutdown: \(error)") }
                    return
                }
                started.add(1, ordering: .releasing)
                var stamp: UInt64 = 0
                while true {
                    stamp += 1
                    let page = t * pagesPerThread + Int(stamp % UInt64(pagesPerThread))
                    let bytes = withUnsafeBytes(of: stamp.littleEndian) { Array($0) }
                    do {
                        try file.write(bytes + bytes, at: Int64(page * Self.pageSize))
                        acked.set(page, stamp)
                    } catch FolioError.shutDown {
                        return
                    } catch {
                        unexpected.append("write: \(error)")
                        return
                    }
                }
            }
            #expect(unexpected.events.isEmpty, "\(kind) round \(round): \(unexpected.events)")
            let disk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let want = acked.stamps
            var lost: [String] = []
            for (page, stamp) in want.enumerated() where stamp > 0 {
                let at = page * Self.pageSize
                let found: UInt64 = disk.count >= at + 8 ? disk[at..<at + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } : 0
                if found != stamp { lost.append("page \(page): acknowledged \(stamp), on disk \(found)") }
            }
            #expect(lost.isEmpty, "\(kind) round \(round) (seed \(seed), delay \(delay) µs): \(lost.prefix(5))")
            #expect(want.contains { $0 > 0 }, "\(kind): no write was acknowledged before the shutdown")
        }
    }
}

/// The last acknowledged stamp of each page.
final class AckTable: @unchecked Sendable {
    // @unchecked Sendable: `values` is only touched with `lock` held.
    let lock = TestLock()
    var values: [UInt64]
    init(pages: Int) { values = Array(repeating: 0, count: pages) }
    func set(_ page: Int, _ stamp: UInt64) { lock.withLock { values[page] = stamp } }
    var stamps: [UInt64] { lock.withLock { values } }
}

/// `CacheStatistics.hits` and `CachedFile.fileStatistics`.
@Suite struct HitStatisticsTests {
    static let pageSize = 4096

    @Test(arguments: testedStrategies, [true, false])
    func hitsAndMissesPerFileAndCacheWide(_ kind: LockStrategyKind, _ optimistic: Bool) throws {
        let cache = try AnyPageCache(
            strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20, optimisticReads: optimistic))
        let a = try cache.open(backend: MemoryBackend(path: "a", contents: Array(repeating: 7, count: 4 * Self.pageSize)))
        let b = try cache.open(backend: MemoryBackend(path: "b", contents: Array(repeating: 8, count: Self.pageSize)))
        _ = try a.read(count: 2 * Self.pageSize, at: 0)  // 2 misses (or 1 and readahead)
        let afterMiss = a.fileStatistics
        #expect(afterMiss.misses >= 1 && afterMiss.hits + afterMiss.misses >= 1)
        for _ in 0..<5 { _ = try a.read(count: 10, at: 100) }  // 5 hits on page 0
        _ = try b.read(count: 1, at: 0)  // a miss of b
        _ = try b.read(count: 1, at: 0)  // a hit of b
        #expect(a.fileStatistics.hits == afterMiss.hits + 5, "\(kind): \(a.fileStatistics)")
        #expect(b.fileStatistics == FileStatistics(hits: 1, misses: 1))
        let hits = a.fileStatistics.hits + 1
        #expect(cache.statistics.hits == hits)
        try a.close()
        #expect(cache.statistics.hits == hits, "\(kind): a closed file's hits left the total")
        try b.close()
    }

    /// Threads hitting one page are each counted: the striped counter loses
    /// no increment.
    @Test(arguments: [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange])
    func concurrentHitsAreAllCounted(_ kind: LockStrategyKind) throws {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let f = try cache.open(backend: MemoryBackend(path: "hot", contents: Array(repeating: 1, count: Self.pageSize)))
        _ = try f.read(count: 1, at: 0)
        let before = f.fileStatistics.hits
        let threads = 4, reads = stressIterations(20_000)
        let gate = StartGate(parties: threads)
        runThreads(threads) { _ in
            gate.arriveAndWait()
            for _ in 0..<reads { _ = try? f.read(count: 8, at: 0) }
        }
        #expect(f.fileStatistics.hits - before == UInt64(threads * reads), "\(kind)")
        try f.close()
    }

    @Test func writebacksAndErrorsPerFile() throws {
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: Self.pageSize))
        let backend = MemoryBackend(path: "w")
        let f = try cache.open(backend: backend)
        try f.write([1], at: 0)
        backend.failNextWrites(1)
        #expect(throws: FolioError.self) { try f.flush() }
        try f.flush()
        #expect(f.fileStatistics.writebacks == 1 && f.fileStatistics.writebackErrors == 1)
        #expect(cache.statistics.writebackErrors == 1)
        try f.close()
        #expect(cache.statistics.writebackErrors == 1)
    }
}
