import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ParkingLotTests {
    @Test func validateFalseNeverSleeps() {
        let lot = ParkingLot(bucketCount: 1)
        #expect(lot.park(key: 1, validate: { false }) == .invalid)
        #expect(lot.parkedCount(key: 1) == 0)
    }

    @Test func timeoutRemovesTheThreadAndReportsLast() {
        let lot = ParkingLot(bucketCount: 1)
        let lastSeen = Atomic<Int>(-1)
        let result = lot.park(key: 7, timeout: .milliseconds(5), validate: { true },
                              timedOut: { last in lastSeen.store(last ? 1 : 0, ordering: .relaxed) })
        #expect(result == .timedOut)
        let last = lastSeen.load(ordering: .relaxed)
        #expect(last == 1)
        #expect(lot.parkedCount(key: 7) == 0)
    }

    @Test func unparkWithNobodyParkedStillRunsTheCallback() {
        let lot = ParkingLot(bucketCount: 4)
        let called = Atomic<Bool>(false)
        let r = lot.unparkOne(key: 3) { r in
            called.store(true, ordering: .relaxed)
            #expect(r.unparkedThreads == 0 && !r.haveMoreThreads)
            return .retry
        }
        let wasCalled = called.load(ordering: .relaxed)
        #expect(wasCalled)
        #expect(r.unparkedThreads == 0)
    }

    /// Threads parked one after another on one key are unparked in that order,
    /// even with other keys interleaved in the same (single) bucket.
    @Test func unparkOneIsFIFOPerKey() {
        let lot = ParkingLot(bucketCount: 1)
        let log = EventLog<(thread: Int, token: UInt64)>()
        let n = 5
        for i in 0..<n {
            spawnThread {
                if case .unparked(let t) = lot.park(key: 42, validate: { true }) { log.append((i, t.rawValue)) }
            }
            // A thread on another key, to share the bucket.
            spawnThread { _ = lot.park(key: 43, validate: { true }) }
            #expect(waitUntil { lot.parkedCount(key: 42) == i + 1 && lot.parkedCount(key: 43) == i + 1 })
        }
        for k in 0..<n {
            let r = lot.unparkOne(key: 42) { r in
                #expect(r.haveMoreThreads == (k < n - 1))
                return UnparkToken(rawValue: UInt64(100 + k))
            }
            #expect(r.unparkedThreads == 1)
        }
        #expect(waitUntil { log.events.count == n })
        for e in log.events { #expect(e.token == UInt64(100 + e.thread), "thread \(e.thread) woke with token \(e.token)") }
        #expect(lot.parkedCount(key: 43) == n)
        #expect(lot.unparkAll(key: 43) == n)
        #expect(waitUntil { lot.parkedCount(key: 43) == 0 })
    }

    @Test func atFrontQueuesAheadAndFilterStops() {
        let lot = ParkingLot(bucketCount: 2)
        let woke = EventLog<Int>()
        for (i, front) in [(0, false), (1, false), (2, true)] {
            spawnThread {
                _ = lot.park(key: 9, token: ParkToken(bits: UInt64(i)), atFront: front, validate: { true })
                woke.append(i)
            }
            #expect(waitUntil { lot.parkedCount(key: 9) == i + 1 })
        }
        // Queue order is now 2, 0, 1. Unpark until the first odd token.
        var seen: [UInt64] = []
        let r = lot.unparkFilter(key: 9, filter: { t in
            seen.append(t.bits)
            return t.bits % 2 == 1 ? .stop : .unpark
        }, callback: { _ in .retry })
        #expect(seen == [2, 0, 1])
        #expect(r.unparkedThreads == 2 && r.haveMoreThreads)
        #expect(waitUntil { Set(woke.events) == [0, 2] })
        #expect(lot.unparkAll(key: 9) == 1)
        #expect(waitUntil { woke.events.count == 3 })
    }

    /// `behind:` queues a waiter right after the leading waiters of its key
    /// that the predicate picks: here "marked (bit 0) and not younger". A
    /// (timestamp 100, unmarked) at the back, then B (50), C (70) and D
    /// (200), marked, each `behind` the marked ones no younger than itself;
    /// a thread of another key in the same bucket is not in the way, and E
    /// (unmarked, plain FIFO) goes to the tail after them. Unparked one at
    /// a time they wake B, C, D, A, E (`atFront` would give D, C, B, A, E;
    /// by timestamp alone D would stand behind A).
    @Test func behindQueuesAfterTheLeadingPickedWaiters() {
        let lot = ParkingLot(bucketCount: 1)
        let woke = EventLog<UInt64>()
        let other = TestWord()
        spawnThread { _ = lot.park(key: other.key, token: ParkToken(timestamp: 300), validate: { true }) }
        #expect(waitUntil { lot.parkedCount(key: other.key) == 1 })
        let waiters: [(UInt64, Bool)] = [(100, false), (50, true), (70, true), (200, true), (400, false)]
        for (i, (stamp, marked)) in waiters.enumerated() {
            spawnThread {
                let token = ParkToken(bits: marked ? 1 : 0, timestamp: stamp)
                let behind: ((ParkToken) -> Bool)? = marked ? { $0.bits & 1 != 0 && $0.timestamp <= stamp } : nil
                _ = lot.park(key: 9, token: token, behind: behind, validate: { true })
                woke.append(stamp)
            }
            #expect(waitUntil { lot.parkedCount(key: 9) == i + 1 })
        }
        for n in 1...waiters.count {
            #expect(lot.unparkOne(key: 9) { _ in .retry }.unparkedThreads == 1)
            #expect(waitUntil { woke.events.count == n })
        }
        #expect(woke.events == [50, 70, 200, 100, 400])
        #expect(lot.unparkAll(key: other.key) == 1)
    }

    /// The classic lost wake-up: a waker that changes the condition and
    /// unparks between the waiter's check and its sleep. `validate` under the
    /// bucket lock closes it; with every key in one bucket, repeated
    /// ping-pong must never hang.
    @Test func noLostWakeupsInOneBucket() {
        let lot = ParkingLot(bucketCount: 1)
        let rounds = stressIterations(3_000)
        let flags = (0..<4).map { _ in TestWord() }  // word: 0 = waiter must wait, 1 = go
        let ok = finishes(within: 60) {
            runThreads(8) { t in
                let w = flags[t / 2]
                let key = w.key
                for _ in 0..<rounds {
                    if t % 2 == 0 {
                        // waiter: wait for 1, set back to 0
                        while w.word.load(ordering: .acquiring) != 1 {
                            _ = lot.park(key: key, validate: { w.word.load(ordering: .acquiring) != 1 })
                        }
                        w.word.store(0, ordering: .releasing)
                        lot.unparkAll(key: key)
                    } else {
                        // waker: wait for 0, set 1, wake
                        while w.word.load(ordering: .acquiring) != 0 {
                            _ = lot.park(key: key, validate: { w.word.load(ordering: .acquiring) != 0 })
                        }
                        w.word.store(1, ordering: .releasing)
                        lot.unparkAll(key: key)
                    }
                }
            }
        }
        #expect(ok, "threads did not finish: a wake-up was lost")
    }
}
