@testable import FolioCache
import Dispatch
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A test body generic over the strategy, run by `withStrategy`.
protocol StrategyBody: Sendable {
    func run<S: LockStrategy>(_ strategy: S) async throws
}

struct StrategyVisitor<B: StrategyBody>: LockStrategyVisitor {
    let body: B
    func visit<S: LockStrategy>(_ strategy: S) -> @Sendable () async throws -> Void {
        { try await body.run(strategy) }
    }
}

func withStrategy<B: StrategyBody>(_ kind: LockStrategyKind, buckets: Int? = nil, _ body: B) async throws {
    try await LockStrategyConfiguration(kind: kind, waitTableBuckets: buckets).visit(StrategyVisitor(body: body))()
}

/// The async API (`CachedFile.async`) through the public path, for every
/// strategy: the same bytes as the synchronous API, cancellation of a lock
/// wait, and async waits racing handoffs.
@Suite struct AsyncAPITests {
    static let pageSize = 4096

    /// A seeded sequence of reads, writes, truncates, flushes and syncs,
    /// done with the async API on one file and the synchronous API on
    /// another, through a cache small enough to evict: every read returns
    /// the same bytes on both, and so do the backends after close. Both
    /// ways of an async miss: hopping to the I/O executor, and served in the
    /// task (`withoutHop`: the async file's backend reads without blocking).
    @Test(arguments: testedStrategies, [false, true])
    func theAsyncAPIReturnsTheSameBytesAsTheSynchronousOne(_ kind: LockStrategyKind, withoutHop: Bool) async throws {
        struct Body: StrategyBody {
            let seed: UInt64
            let withoutHop: Bool
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: AsyncAPITests.pageSize, capacity: 24 * AsyncAPITests.pageSize))
                let backendA = MemoryBackend(path: "async"), backendB = MemoryBackend(path: "sync")
                backendA.setReadsWithoutBlocking(withoutHop)
                let a = try cache.open(backend: backendA), b = try cache.open(backend: backendB)
                var rng = SplitMix64(seed: seed)
                let span = 64 * AsyncAPITests.pageSize
                for step in 0..<stressIterations(400) {
                    let op = rng.next() % 16
                    let offset = Int64(rng.next() % UInt64(span))
                    let count = Int(rng.next() % UInt64(3 * AsyncAPITests.pageSize)) + 1
                    switch op {
                    case 0..<6:
                        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                        try await a.async.write(bytes, at: offset)
                        try b.write(bytes, at: offset)
                    case 6..<13:
                        let x = try await a.async.read(count: count, at: offset)
                        let y = try b.read(count: count, at: offset)
                        #expect(x == y, "\(strategy.kind) seed \(seed) step \(step): read \(count) at \(offset) differs")
                        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 8)
                        defer { raw.deallocate() }
                        let n = try await a.async.read(into: SendableRaw(raw).buffer, at: offset)
                        #expect(n == y.count && Array(raw.prefix(n)) == y)
                    case 13:
                        let size = Int64(rng.next() % UInt64(span))
                        try await a.async.truncate(to: size)
                        try b.truncate(to: size)
                    case 14:
                        try await a.async.flush()
                        try b.flush()
                    default:
                        try await a.async.sync()
                        try b.sync()
                    }
                    #expect(try a.async.size() == b.size())
                }
                try await a.async.close()
                try b.close()
                #expect(backendA.contents == backendB.contents, "\(strategy.kind) seed \(seed): the files differ after close")
                #expect(a.isClosed)
                let s = cache.statistics
                #expect(withoutHop ? s.asyncMissesWithoutHop > 0 : s.asyncMissesWithoutHop == 0, "\(strategy.kind): \(s.asyncMissesWithoutHop) misses without a hop")
            }
        }
        try await withStrategy(kind, Body(seed: testSeed(), withoutHop: withoutHop))
    }

    /// A view's async faults: `prefault` maps the pages off the pool (the
    /// synchronous accesses after it find them mapped, no fault), `copyBytes`
    /// and `store` see and make the same bytes as the view's synchronous
    /// calls, and EOF and read-only views throw as they do.
    @Test(arguments: testedStrategies)
    func aViewsAsyncFaultsMapThePagesAndAgreeWithTheView(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncAPITests.pageSize
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, maxFolioOrder: 0))
                let contents = (0..<(8 * ps)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
                let file = try cache.open(backend: MemoryBackend(contents: contents))
                let view = try file.map(0..<Int64(16 * ps), mode: .readWrite)
                try await view.async.prefault(at: Int64(ps / 2), count: 4 * ps)
                let faults = view.statistics.faults
                #expect(faults == 5, "\(strategy.kind): \(faults) faults for 5 pages")
                for p in 0..<5 { _ = try view.load(at: Int64(ps / 2 + p * ps), as: UInt8.self) }
                #expect(view.statistics.faults == faults, "\(strategy.kind): a prefaulted page faulted again")
                #expect(try await view.async.copyBytes(at: 100, count: 3 * ps) == Array(contents[100..<(100 + 3 * ps)]))
                try await view.async.store([1, 2, 3], at: Int64(2 * ps - 1))
                #expect(try view.copyBytes(at: Int64(2 * ps - 1), count: 3) == [1, 2, 3])
                await #expect(throws: FolioError.self) { _ = try await view.async.copyBytes(at: Int64(8 * ps - 1), count: 2) }
                let readOnly = try file.map(0..<Int64(ps))
                await #expect(throws: FolioError.self) { try await readOnly.async.store([1], at: 0) }
                try file.close()
            }
        }
        try await withStrategy(kind, Body())
    }

    /// A thread that holds page 0's lock — the lock of `folio`, its folio
    /// (per-page strategies), or its range exclusively (per-inode, per-range)
    /// — until `unlock`. Not the test's task: a lock held across a
    /// suspension may be released on another thread, which the DebugLocks
    /// checker reports as a non-owner's unlock.
    static func holdPageZero<S: LockStrategy>(_ strategy: S, folio: Folio, pageLock: S.MappingLock) -> LockHolderThread {
        if S.locksFolios {
            return LockHolderThread(lock: { strategy.lockFolio(folio) }, unlock: { strategy.unlockFolio(folio) })
        }
        let held = Box<S.PagesGuard?>(nil)
        return LockHolderThread(
            lock: { held.value = strategy.lockPages(PageIndex(0)..<PageIndex(1), .exclusive, in: pageLock) },
            unlock: { held.value.map { strategy.unlockPages($0, in: pageLock) } })
    }

    /// Tasks waiting for a locked page — its folio lock (per-page
    /// strategies) or its range (per-inode: the file's rw lock; per-range:
    /// the page's range) held by a thread — wait *suspended*, without a hop:
    /// cancelled, the read and the write throw `CancellationError` and leave
    /// nothing parked; left to wait, they finish when the thread unlocks, and
    /// the bytes are right. Reads and writes of the page work on.
    @Test(arguments: testedStrategies)
    func aLockWaitSuspendsAndCancellingItLeavesNoTrace(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncAPITests.pageSize
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, optimisticReads: false))
                let file = try cache.open(backend: MemoryBackend())
                let page = [UInt8](repeating: 9, count: ps)
                try file.write(page, at: 0)
                let folio = try #require(file.mapping.table.lookupAndPin(PageIndex(0)))
                // Another thread holds the page's lock (`holdPageZero`).
                let pageLock = file.mapping.pageLock
                let hold = { AsyncAPITests.holdPageZero(strategy, folio: folio, pageLock: pageLock) }
                // Nothing left parked: no parked bit (folio; rw lock), no
                // request but the holder's (range lock).
                let noTrace = { () -> Bool in
                    if S.locksFolios { return folio.state.load(ordering: .relaxed) & BitLockBits.parked == 0 }
                    if let rw = pageLock as? ReaderWriterLock { return !rw.hasParkedBit }
                    if let ranges = pageLock as? RangeLock { return ranges.outstandingCount == 1 }
                    return true
                }
                let parked = { cache.strategy.statistics.snapshot.parks }
                let hops = cache.statistics.asyncHops
                var holder = hold()
                var before = parked()
                let finished = RaceCounts()  // (threadsDone: the tasks that ended)
                let reader = Task {
                    defer { finished.threadsDone.add(1, ordering: .relaxed) }
                    return try await file.async.read(count: ps, at: 0)
                }
                let writer = Task {
                    defer { finished.threadsDone.add(1, ordering: .relaxed) }
                    try await file.async.write([1, 2, 3], at: 10)
                }
                #expect(await eventually { parked() >= before + 2 }, "\(strategy.kind): the tasks did not park")
                reader.cancel()
                writer.cancel()
                // (Polled with the lock still held: a wait that does not
                // suspend — a hop blocked on the lock — fails here instead of
                // hanging the test.)
                let cancelledInTime = await eventually(seconds: 5) { finished.threadsDone.load(ordering: .relaxed) == 2 }
                #expect(cancelledInTime, "\(strategy.kind): cancelled waits did not end while the lock was held")
                if cancelledInTime {
                    await #expect(throws: CancellationError.self) { _ = try await reader.value }
                    await #expect(throws: CancellationError.self) { try await writer.value }
                    #expect(noTrace(), "\(strategy.kind): a cancelled wait left a trace")
                }
                holder.unlock()
                _ = try? await reader.value
                _ = try? await writer.value
                #expect(try await file.async.read(count: ps, at: 0) == page)
                // Again, left to wait: both finish once the thread unlocks.
                holder = hold()
                before = parked()
                let reader2 = Task { try await file.async.read(count: ps, at: 0) }
                let writer2 = Task { try await file.async.write([1, 2, 3], at: 10) }
                #expect(await eventually { parked() >= before + 2 }, "\(strategy.kind): the tasks did not park")
                holder.unlock()
                let read = try await reader2.value
                try await writer2.value
                var written = page
                written.replaceSubrange(10..<13, with: [1, 2, 3])
                #expect(read == page || read == written, "\(strategy.kind): the waiting read returned neither version")
                #expect(try file.read(count: ps, at: 0) == written)
                #expect(cache.statistics.asyncHops == hops, "\(strategy.kind): a lock wait hopped (\(cache.statistics.asyncHops - hops) hops)")
                folio.unpin()
                try await file.async.write([4, 5, 6], at: 10)
                #expect(try file.read(count: 3, at: 10) == [4, 5, 6])
                try file.close()
            }
        }
        try await withStrategy(kind, buckets: 1, Body())
    }

    /// A task handed a page lock (or woken to retry) while every thread of
    /// the cooperative pool runs tasks whose reads all hit — tasks that never
    /// suspend — still runs: the hitting tasks yield while a resumed task has
    /// not run (`ResumedTasks`). Without that, the lock's new owner waits for
    /// a pool thread until the hitters stop, and so does everyone waiting for
    /// its lock (the livelock CI met: 3 reader tasks on 2 pool threads, a
    /// writer thread behind the task's folio lock, a truncate behind the
    /// writer). Here the hitters give up after 5 s and report whether the
    /// waiting read had finished by then.
    @Test(arguments: testedStrategies)
    func aTaskHandedALockRunsWhileOtherTasksOnlyHit(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncAPITests.pageSize
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, optimisticReads: false))
                let file = try cache.open(backend: MemoryBackend())
                for p in 0..<8 { try file.write([UInt8](repeating: UInt8(p), count: ps), at: Int64(p * ps)) }
                let folio = try #require(file.mapping.table.lookupAndPin(PageIndex(0)))
                let holder = AsyncAPITests.holdPageZero(strategy, folio: folio, pageLock: file.mapping.pageLock)
                let before = cache.strategy.statistics.snapshot.parks
                let done = StopFlag()
                let waiter = Task {
                    defer { done.set() }
                    return try await file.async.read(count: ps, at: 0)
                }
                #expect(await eventually { cache.strategy.statistics.snapshot.parks > before }, "\(strategy.kind): the read did not park")
                // As many hitting tasks as the pool has threads; the lock is
                // released by a plain thread once they run.
                let width = max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
                let hitters = (0..<width).map { i in
                    Task { () -> Bool in
                        let deadline = ContinuousClock.now + .seconds(5)
                        var n = 0
                        while !done.isSet {
                            _ = try await file.async.read(count: ps, at: Int64((1 + (i + n) % 7) * ps))
                            n += 1
                            if n % 256 == 0 && ContinuousClock.now > deadline { return false }
                        }
                        return true
                    }
                }
                spawnThread {
                    usleep(200_000)
                    holder.unlock()
                }
                var inTime = true
                for h in hitters { inTime = try await h.value && inTime }
                #expect(inTime, "\(strategy.kind): the task handed the lock did not run while other tasks hit (5 s)")
                #expect(try await waiter.value == [UInt8](repeating: 0, count: ps))
                folio.unpin()
                try file.close()
            }
        }
        try await withStrategy(kind, buckets: 1, Body())
    }

    /// Tasks (async API) and threads (synchronous API) write whole pages of
    /// one stamp to the same 2 pages and read them, many waiting on the
    /// folio locks at once (per-page strategies: the tasks park and are
    /// handed the lock): every read sees a whole page of one stamp, and
    /// every write lands.
    @Test(arguments: testedStrategies)
    func asyncWaitsRaceHandoffsAndThreads(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            let seed: UInt64
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncAPITests.pageSize
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, maxFolioOrder: 0, optimisticReads: false))
                let file = try cache.open(backend: MemoryBackend(contents: [UInt8](repeating: 0, count: 2 * ps)))
                let counts = RaceCounts()
                let iterations = stressIterations(300)
                
                for t in 0..<2 {
                    spawnThread {
                        for i in 0..<iterations {
                            let page = Int64((i + t) % 2)
                            if i % 2 == 0 {
                                try? file.write([UInt8](repeating: UInt8(truncatingIfNeeded: 100 + t), count: ps), at: page * Int64(ps))
                                counts.written.add(1, ordering: .relaxed)
                            } else if let bytes = try? file.read(count: ps, at: page * Int64(ps)), Set(bytes).count != 1 {
                                counts.torn.add(1, ordering: .relaxed)
                            }
                        }
                        counts.threadsDone.add(1, ordering: .relaxed)
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for t in 0..<6 {
                        group.addTask {
                            var rng = SplitMix64(seed: seed &+ UInt64(t))
                            for _ in 0..<iterations {
                                let page = Int64(rng.next() % 2)
                                if rng.next() % 2 == 0 {
                                    try await file.async.write([UInt8](repeating: UInt8(t + 1), count: ps), at: page * Int64(ps))
                                    counts.written.add(1, ordering: .relaxed)
                                } else if Set(try await file.async.read(count: ps, at: page * Int64(ps))).count != 1 {
                                    counts.torn.add(1, ordering: .relaxed)
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(await eventually { counts.threadsDone.load(ordering: .relaxed) == 2 })
                #expect(counts.torn.load(ordering: .relaxed) == 0, "\(strategy.kind) seed \(seed): a read saw a torn page")
                #expect(try file.size() == Int64(2 * ps))
                let s = strategy.statistics.snapshot
                print("AsyncAPITests race \(strategy.kind) seed \(seed): \(counts.written.load(ordering: .relaxed)) writes, parks \(s.parks), handoffs \(s.handoffs), max lost races \(s.maxLostRaces)")
                if let policy = LockStrategyConfiguration(kind: strategy.kind).effectivePolicy, policy.unfairness > 0 {
                    #expect(s.maxLostRaces <= policy.unfairness, "\(strategy.kind) seed \(seed): \(s.maxLostRaces) lost races")
                }
                try file.close()
            }
        }
        try await withStrategy(kind, Body(seed: testSeed()))
    }
    /// Tasks whose reads nearly all miss (a budget of 16 pages, 2 tasks
    /// reading the same 512 pages of a real file in step, so each miss hops
    /// and evicts while the other task waits, suspended, for the page being
    /// filled) all finish, with the file's bytes.
    @Test(arguments: testedStrategies)
    func missHeavyTaskReadsFinish(_ kind: LockStrategyKind) async throws {
        struct Body: StrategyBody {
            func run<S: LockStrategy>(_ strategy: S) async throws {
                let ps = AsyncAPITests.pageSize, pages = 512
                let path = temporaryDirectory() + "/misses"
                defer { unlink(path) }
                var contents = [UInt8](repeating: 0, count: pages * ps)
                for p in 0..<pages { contents[p * ps] = UInt8(truncatingIfNeeded: p); contents[p * ps + ps - 1] = UInt8(truncatingIfNeeded: p &* 7) }
                let setup = try PageCache(strategy: strategy, configuration: .init(pageSize: ps))
                let writer = try setup.open(path: path)
                try writer.write(contents, at: 0)
                try writer.close()
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: ps, capacity: 16 * ps))
                let file = try cache.open(path: path, .readOnly, options: [])
                let counts = RaceCounts()
                let readers = Task {
                    await withTaskGroup(of: Void.self) { group in
                        for _ in 0..<2 {
                            group.addTask {
                                for round in 0..<3 {
                                    for i in 0..<pages {
                                        let p = (i * 37 + round * 13) % pages  // both tasks the same pages, in step: they meet on pages being filled
                                        guard let bytes = try? await file.async.read(count: ps, at: Int64(p * ps)),
                                              bytes.count == ps, bytes[0] == UInt8(truncatingIfNeeded: p),
                                              bytes[ps - 1] == UInt8(truncatingIfNeeded: p &* 7) else {
                                            counts.torn.add(1, ordering: .relaxed)
                                            continue
                                        }
                                    }
                                }
                                counts.threadsDone.add(1, ordering: .releasing)
                            }
                        }
                    }
                }
                // (`threadsDone` counts the tasks here; `torn`, wrong bytes.)
                let finished = await eventually(seconds: 120) { counts.threadsDone.load(ordering: .acquiring) == 2 }
                #expect(finished, "\(strategy.kind): \(counts.threadsDone.load(ordering: .relaxed)) of 2 tasks finished their miss-heavy reads in 120 s")
                #expect(counts.torn.load(ordering: .relaxed) == 0, "\(strategy.kind): \(counts.torn.load(ordering: .relaxed)) reads returned wrong bytes")
                if finished {
                    await readers.value
                    try file.close()
                }
            }
        }
        try await withStrategy(kind, Body())
    }
}


/// A raw buffer carried into an async call the test awaits.
struct SendableRaw: @unchecked Sendable {
    // @unchecked Sendable: the test awaits the one call that uses it.
    let buffer: UnsafeMutableRawBufferPointer
    init(_ b: UnsafeMutableRawBufferPointer) { buffer = b }
}

final class RaceCounts: Sendable {
    let torn = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let threadsDone = Atomic<Int>(0)
}
