import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Two fields a writer keeps equal; a reader that ever sees them differ saw a
/// write in progress. Unsynchronized on purpose.
final class Pair: @unchecked Sendable {
    // @unchecked Sendable: protected only by the lock under test.
    var a = 0
    var b = 0
}

@Suite struct ReaderWriterLockTests {
    @Test(arguments: [1, 256])
    func writersExcludeEveryone(buckets: Int) {
        let lock = ReaderWriterLock(lot: ParkingLot(bucketCount: buckets))
        let pair = Pair()
        let torn = Atomic<Int>(0)
        let iterations = stressIterations(10_000)
        let ok = finishes(within: 120) {
            runThreads(8) { t in
                for _ in 0..<iterations {
                    if t % 2 == 0 {
                        lock.lock(.exclusive)
                        pair.a += 1
                        pair.b += 1
                        lock.unlock(.exclusive)
                    } else {
                        lock.lock(.shared)
                        if pair.a != pair.b { torn.wrappingAdd(1, ordering: .relaxed) }
                        lock.unlock(.shared)
                    }
                }
            }
        }
        #expect(ok, "stuck: lost wake-up")
        #expect(pair.a == 4 * iterations && pair.b == 4 * iterations)
        let seen = torn.load(ordering: .relaxed)
        #expect(seen == 0, "readers saw \(seen) torn writes")
        #expect(!lock.isLocked)
    }

    /// Two readers inside at once, proved by a rendezvous: the first waits
    /// inside for the second to arrive inside. If shared excluded shared, this
    /// would deadlock.
    @Test func readersOverlap() {
        let lock = ReaderWriterLock(lot: ParkingLot(bucketCount: 1))
        let inside = Atomic<Int>(0)
        let ok = finishes(within: 10) {
            runThreads(2) { _ in
                lock.lock(.shared)
                inside.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while inside.load(ordering: .acquiring) < 2 { sched_yield() }
                lock.unlock(.shared)
            }
        }
        #expect(ok, "shared holders did not overlap")
    }

    @Test func tryLockRespectsModes() {
        let lock = ReaderWriterLock()
        #expect(lock.tryLock(.shared))
        #expect(lock.tryLock(.shared))
        #expect(!lock.tryLock(.exclusive))
        lock.unlock(.shared)
        lock.unlock(.shared)
        #expect(lock.tryLock(.exclusive))
        #expect(!lock.tryLock(.shared))
        #expect(!lock.tryLock(.exclusive))
        lock.unlock(.exclusive)
        #expect(!lock.isLocked)
    }

    /// Once a writer is parked behind a reader, new readers queue behind it
    /// instead of joining the reader (which could go on forever).
    @Test func readersDoNotJoinWhileAWriterWaits() {
        let lot = ParkingLot(bucketCount: 1)
        let lock = ReaderWriterLock(lot: lot)
        lock.lock(.shared)
        let wrote = Atomic<Bool>(false)
        spawnThread {
            lock.lock(.exclusive)
            wrote.store(true, ordering: .releasing)
            lock.unlock(.exclusive)
        }
        let key = UInt(bitPattern: Unmanaged.passUnretained(lock).toOpaque())
        #expect(waitUntil { lot.parkedCount(key: key) == 1 })
        #expect(!lock.tryLock(.shared), "a reader joined ahead of a parked writer")
        lock.unlock(.shared)
        #expect(waitUntil { wrote.load(ordering: .acquiring) })
        // The writer logs before it unlocks: wait for the unlock.
        #expect(waitUntil { lock.tryLock(.shared) })
        lock.unlock(.shared)
    }

    /// With unfairness 0 every contended release is a handoff in queue order:
    /// a writer, then the run of readers behind it together, then the next
    /// writer — and a reader that shows up meanwhile waits its turn.
    @Test func fairPolicyHandsOffInQueueOrder() {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let lock = ReaderWriterLock(lot: lot, policy: .fair, statistics: stats)
        let key = UInt(bitPattern: Unmanaged.passUnretained(lock).toOpaque())
        let log = EventLog<String>()
        let readersInside = Atomic<Int>(0)
        lock.lock(.exclusive)
        let plan: [(String, LockMode)] = [("W1", .exclusive), ("R1", .shared), ("R2", .shared), ("W2", .exclusive)]
        for (i, (name, mode)) in plan.enumerated() {
            spawnThread {
                lock.lock(mode)
                log.append(name)
                if mode == .shared {
                    // Both readers must be inside together (handed off as a run).
                    readersInside.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    _ = waitUntil(seconds: 5) { readersInside.load(ordering: .acquiring) == 2 }
                }
                lock.unlock(mode)
            }
            #expect(waitUntil { lot.parkedCount(key: key) == i + 1 })
        }
        lock.unlock(.exclusive)
        #expect(waitUntil { log.events.count == 4 })
        let e = log.events
        #expect(e.first == "W1" && e.last == "W2" && Set(e[1...2]) == ["R1", "R2"], "order: \(e)")
        #expect(stats.snapshot.handoffs == 4)
        // W2 logs before it unlocks: wait for the unlock.
        #expect(waitUntil { !lock.isLocked })
    }

    /// A stream of overlapping readers never lets the lock go free; a writer
    /// must still get in (readers stop joining once it is parked).
    @Test func writerIsNotStarvedByReaders() {
        let lot = ParkingLot(bucketCount: 1)
        let lock = ReaderWriterLock(lot: lot)
        let stop = Atomic<Bool>(false)
        let writes = Atomic<Int>(0)
        let readersRunning = Atomic<Int>(0)
        for _ in 0..<3 {
            spawnThread {
                readersRunning.wrappingAdd(1, ordering: .relaxed)
                while !stop.load(ordering: .relaxed) {
                    lock.lock(.shared)
                    for _ in 0..<50 { _ = stop.load(ordering: .relaxed) }
                    lock.unlock(.shared)
                }
                readersRunning.wrappingAdd(-1, ordering: .relaxed)
            }
        }
        #expect(waitUntil { readersRunning.load(ordering: .relaxed) == 3 })
        let ok = finishes(within: 30) {
            for _ in 0..<200 {
                lock.lock(.exclusive)
                writes.wrappingAdd(1, ordering: .relaxed)
                lock.unlock(.exclusive)
            }
        }
        stop.store(true, ordering: .relaxed)
        #expect(ok, "writer starved: \(writes.load(ordering: .relaxed)) of 200 writes in 30 s")
        #expect(waitUntil { readersRunning.load(ordering: .relaxed) == 0 })
    }
}
