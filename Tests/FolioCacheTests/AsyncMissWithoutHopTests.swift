@testable import FolioCache
import FolioLocks
import FolioTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Async read misses served in the caller's task (docs/async.md): when the
/// backend has the bytes in memory (`IOBackend.readWithoutBlocking`; a POSIX
/// file's pages in the OS page cache, `preadv2` with `RWF_NOWAIT`) and nothing
/// else would wait, the miss does not hop to the I/O executor. Anything that
/// would wait still hops, and the policy is asked once per miss either way.
@Suite struct AsyncMissWithoutHopTests {
    static let pageSize = 4096

    /// A file just written (its pages in the OS page cache), read through the
    /// async API in a seeded order by one task, with a budget of 8 pages:
    /// every byte right, and the misses served without a hop — evicting
    /// clean victims in the task.
    @Test(arguments: testedStrategies)
    func missesOnPagesTheOSHasCachedDoNotHop(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            let seed: UInt64
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncMissWithoutHopTests.pageSize
                let directory = temporaryDirectory()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let path = directory + "/cached"
                let pages = 64
                let contents = (0..<pages * ps).map { UInt8(truncatingIfNeeded: $0 / ps &* 31 &+ $0) }
                #expect(FileManager.default.createFile(atPath: path, contents: Data(contents)))
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, capacity: 8 * ps, maxFolioOrder: 0))
                let file = try cache.open(path: path, .readOnly, options: [])
                var rng = SplitMix64(seed: seed)
                for _ in 0..<stressIterations(600) {
                    let p = Int(rng.next() % UInt64(pages))
                    let got = try await file.async.read(count: ps, at: Int64(p * ps))
                    #expect(got[...] == contents[p * ps..<(p + 1) * ps], "\(strategy.kind) seed \(seed): page \(p) differs")
                }
                let s = cache.statistics
                print("AsyncMissWithoutHopTests \(strategy.kind) seed \(seed): misses \(s.misses), without a hop \(s.asyncMissesWithoutHop), hops \(s.asyncHops), evictions \(s.evictions)")
                #expect(s.misses > 100 && s.evictions > 50)
                // One task, no other user of the file: only a page the OS
                // dropped meanwhile could hop.
                #expect(s.asyncMissesWithoutHop * 10 >= s.misses * 9, "\(strategy.kind): \(s.asyncMissesWithoutHop) of \(s.misses) misses without a hop (\(s.asyncHops) hops)")
                try await file.async.close()
            }
        }
        try await withStrategy(kind, Body(seed: testSeed()))
    }

    /// Every resident page dirty: making room would mean writing back, which
    /// is I/O, so the miss hops (the task evicts clean victims only) — and
    /// the bytes read and written are right.
    @Test(arguments: testedStrategies)
    func aMissThatNeedsWritebackHops(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncMissWithoutHopTests.pageSize
                let backend = MemoryBackend(contents: [UInt8](repeating: 7, count: 16 * ps))
                backend.setReadsWithoutBlocking(true)
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, capacity: 4 * ps, maxFolioOrder: 0))
                let file = try cache.open(backend: backend)
                for p in 0..<4 { try file.write([UInt8](repeating: UInt8(p), count: ps), at: Int64(p * ps)) }
                let before = cache.statistics
                let got = try await file.async.read(count: ps, at: Int64(10 * ps))
                #expect(got == [UInt8](repeating: 7, count: ps))
                let s = cache.statistics
                #expect(s.asyncMissesWithoutHop == before.asyncMissesWithoutHop, "\(strategy.kind): a miss that had to write back was served in the task")
                #expect(s.asyncHops == before.asyncHops + 1)
                #expect(s.writebacks > before.writebacks, "\(strategy.kind): the hop made room by writing back")
                // Clean victims are evicted in the task.
                try file.sync()
                _ = try await file.async.read(count: ps, at: Int64(11 * ps))
                #expect(cache.statistics.asyncMissesWithoutHop == before.asyncMissesWithoutHop + 1)
                try file.close()
                for p in 0..<4 { #expect(Array(backend.contents[p * ps..<(p + 1) * ps]) == [UInt8](repeating: UInt8(p), count: ps)) }
            }
        }
        try await withStrategy(kind, Body())
    }

    /// A miss begun in the task that then finds it would wait (here: the
    /// backend says it can serve reads without blocking, but every one is
    /// slow) hops with the policy's answer from the task, so the policy is
    /// asked once per miss: the same skewed trace through the async API
    /// and through the synchronous API in two caches gives the same hits,
    /// misses and evictions — S3-FIFO's ghost hits included.
    @Test(arguments: EvictionPolicyKind.allCases, [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange])
    func theHopKeepsThePolicysAnswer(_ policy: EvictionPolicyKind, _ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            let policy: EvictionPolicyKind
            let seed: UInt64
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = 512
                let pages = 96
                let contents = (0..<pages * ps).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                let configuration = PageCacheConfiguration(pageSize: ps, capacity: 24 * ps, evictionPolicy: policy, maxFolioOrder: 0)
                let slow = MemoryBackend(path: "async", contents: contents), plain = MemoryBackend(path: "sync", contents: contents)
                slow.setReadsWithoutBlocking(true)
                slow.setReadDelay(microseconds: 1)
                let asyncCache = try PageCache(strategy: strategy, configuration: configuration)
                let syncCache = try PageCache(strategy: strategy, configuration: configuration)
                let a = try asyncCache.open(backend: slow), b = try syncCache.open(backend: plain)
                var rng = SplitMix64(seed: seed)
                for step in 0..<stressIterations(1_500) {
                    // Skewed: half the reads go to a sixth of the pages.
                    let hot = rng.next() % 2 == 0
                    let p = Int(rng.next() % UInt64(hot ? pages / 6 : pages))
                    let x = try await a.async.read(count: ps, at: Int64(p * ps))
                    let y = try b.read(count: ps, at: Int64(p * ps))
                    if x != y { Issue.record("\(policy) \(strategy.kind) seed \(seed) step \(step): page \(p) differs"); return }
                }
                let sa = asyncCache.statistics, sb = syncCache.statistics
                print("AsyncMissWithoutHopTests \(policy) \(strategy.kind) seed \(seed): async misses \(sa.misses) hits \(sa.hits) evictions \(sa.evictions) hops \(sa.asyncHops); sync misses \(sb.misses) hits \(sb.hits) evictions \(sb.evictions)")
                let what = "\(policy) \(strategy.kind) seed \(seed): async then sync"
                #expect(sa.misses == sb.misses, "\(what) misses")
                #expect(sa.hits == sb.hits, "\(what) hits")
                #expect(sa.evictions == sb.evictions, "\(what) evictions")
                #expect(sa.asyncHops == sa.misses && sa.asyncMissesWithoutHop == 0)
                #expect(sb.evictions > 100)
                try a.close()
                try b.close()
            }
        }
        try await withStrategy(kind, Body(policy: policy, seed: testSeed()))
    }

    /// The stamped race of `PageCacheRaceTests` with async readers on a
    /// real file: 2 writer threads, a truncater and an evictor-flusher
    /// (whose writebacks put the pages in the OS page cache, so that the
    /// readers' misses are served in their tasks, racing everything else).
    /// A read is never misplaced, torn, invented or stale.
    @Test(arguments: testedStrategies)
    func missesServedInTheTaskRaceWritersTruncateAndEviction(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            let seed: UInt64
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let pageSize = 512, pages = 24, writers = 2
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: pageSize, capacity: 10 * pageSize, maxFolioOrder: 0))
                let directory = temporaryDirectory()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                // A quarter of the reads without blocking find the page "not
                // cached" (EAGAIN), at the first byte or after a prefix: their
                // fills are undone and hop.
                var calls = SystemCalls.live
                let rolls = SeededRolls(seed: seed ^ 0xA5A5)
                calls.preadNoWait = { fd, buffer, count, offset in
                    let roll = rolls.next() % 8
                    if roll == 0 { return -Int(EAGAIN) }
                    if roll == 1 && count > 1 { return SystemCalls.live.preadNoWait(fd, buffer, count / 2, offset) }
                    return SystemCalls.live.preadNoWait(fd, buffer, count, offset)
                }
                let file = try cache.open(backend: POSIXBackend(path: directory + "/race", options: [.create, .truncate], systemCalls: calls))
                let book = RaceBook(pages: pages)
                let stop = StopFlag()
                let counts = RaceCounts()
                let rounds = stressIterations(1_500)
                for t in 0..<writers + 2 {
                    spawnThread {
                        var rng = SplitMix64(seed: seed &+ UInt64(t))
                        do {
                            switch t {
                            case 0..<writers:
                                // Writer 0 goes on (up to 60 s) until the readers
                                // had misses served in their tasks: on a fast
                                // machine the rounds could end before a task ran.
                                let deadline = ContinuousClock.now + .seconds(60)
                                var round = 0
                                while round < rounds
                                    || (t == 0 && ContinuousClock.now < deadline
                                        && (round % 64 != 0 || cache.statistics.asyncMissesWithoutHop < 20)) {
                                    round += 1
                                    let p = t + writers * Int(rng.next() % UInt64(pages / writers))
                                    let (v, e0) = book.beginWrite(p)
                                    try file.write(StampedFile.page(p, version: v, pageSize: pageSize), at: Int64(p * pageSize))
                                    book.endWrite(p, v, since: e0)
                                }
                                if t == 0 { stop.set() }
                            case writers:
                                while !stop.isSet {
                                    let k = Int(rng.next() % UInt64(pages + 1))
                                    let down = rng.next() % 2 == 0
                                    try book.truncating(cutFrom: down ? k : nil) {
                                        try file.truncate(to: down ? Int64(k * pageSize) : max(try file.size(), Int64(k * pageSize)))
                                    }
                                    usleep(300)
                                }
                            default:
                                while !stop.isSet {
                                    cache.shrink(toBytes: Int(rng.next() % 6) * pageSize)
                                    if rng.next() % 4 == 0 { try file.flush() }
                                    usleep(50)
                                }
                            }
                        } catch {
                            book.fail("thread \(t) threw \(error)")
                            stop.set()
                        }
                        counts.threadsDone.add(1, ordering: .releasing)
                    }
                }
                await withTaskGroup(of: Void.self) { group in
                    for r in 0..<3 {
                        group.addTask {
                            var rng = SplitMix64(seed: seed &+ 100 &+ UInt64(r))
                            while !stop.isSet {
                                let p = Int(rng.next() % UInt64(pages))
                                let (e0, low, high) = book.lock.withLock { (book.epoch, book.committed[p], book.issued[p]) }
                                let got: [UInt8]
                                do { got = try await file.async.read(count: pageSize, at: Int64(p * pageSize)) } catch {
                                    book.fail("async read threw \(error)")
                                    stop.set()
                                    return
                                }
                                let e1 = book.lock.withLock { book.epoch }
                                if got.count != 0 && got.count != pageSize { book.fail("read of page \(p) returned \(got.count) bytes") }
                                let (version, error) = got.count == pageSize ? StampedFile.check(got, index: p) : (nil, nil)
                                if let error { book.fail(error) }
                                let highNow = book.lock.withLock { book.issued[p] }
                                if let version, version > highNow { book.fail("page \(p) has version \(version), never written (max \(high)…\(highNow))") }
                                if e0 == e1 && e0 % 2 == 0 && low > 0 && (version ?? 0) < low {
                                    book.fail("stale: page \(p) read version \(version.map(String.init) ?? "zeros/EOF") after version \(low) completed")
                                }
                            }
                        }
                    }
                }
                let finished = await eventually(seconds: 120) { counts.threadsDone.load(ordering: .acquiring) == writers + 2 }
                book.expectClean(finished: finished, strategy.kind, seed: seed)
                let s = cache.statistics
                print("AsyncMissWithoutHopTests race \(strategy.kind) seed \(seed): misses \(s.misses), without a hop \(s.asyncMissesWithoutHop), hops \(s.asyncHops)")
                #expect(s.asyncMissesWithoutHop > 0, "\(strategy.kind): no miss was served in its task")
                if finished { try file.close() }
            }
        }
        try await withStrategy(kind, Body(seed: testSeed()))
    }
}

/// Seeded random numbers that threads draw from in turn.
final class SeededRolls: @unchecked Sendable {
    // @unchecked Sendable: `rng` is used only under `lock`.
    private let lock = TestLock()
    private var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    func next() -> UInt64 { lock.withLock { rng.next() } }
}

/// A stop signal the test's threads and tasks share.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
