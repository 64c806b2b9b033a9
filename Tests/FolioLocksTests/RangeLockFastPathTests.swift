import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The range lock's fast path (ranges published in slots, no internal lock)
/// against the list path: exclusion between the two, disjoint ranges
/// concurrent on it, and FIFO kept — a queued exclusive range is not starved by
/// shared ranges that keep arriving on the fast path.
@Suite struct RangeLockFastPathTests {
    /// Disjoint and shared-overlapping ranges take the fast path (nothing is
    /// queued); a conflicting one and a range that does not pack take the list.
    @Test func fastPathIsTakenWhenNothingConflicts() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        // (One thread holding overlapping ranges: trylocks, as the lock
        // checker of the DebugLocks trait demands.)
        let a = lock.lock(0..<4, .shared)
        guard let b = lock.tryLock(2..<6, .shared), let c = lock.tryLock(10..<11, .exclusive) else {
            Issue.record("a compatible range was refused")
            lock.unlock(a)
            return
        }
        #expect(a.isFastPath && b.isFastPath && c.isFastPath)
        #expect(lock.queuedCount == 0)
        #expect(lock.outstandingCount == 3)
        // Conflicts with `a`: refused (tried on the list, which checks the slots).
        #expect(lock.tryLock(3..<4, .exclusive) == nil)
        #expect(lock.queuedCount == 0)
        // Past the packable bounds: the list, still exact against the slots.
        let wide = lock.tryLock(20..<UInt64.max, .exclusive)
        #expect(wide != nil && wide?.isFastPath == false)
        #expect(lock.queuedCount == 1)
        if let wide { lock.unlock(wide) }
        for t in [a, b, c] { lock.unlock(t) }
        #expect(lock.outstandingCount == 0 && lock.queuedCount == 0)
    }

    /// A writer and readers of overlapping ranges are never inside together,
    /// with most acquisitions on the fast path (a wide space, so conflicts are
    /// occasional) and some on the list (the conflicts, and now and then a
    /// range too wide to pack); both paths must be seen.
    @Test(arguments: [1, 256])
    func writersAndReadersOfOverlappingRangesExclude(buckets: Int) {
        let lock = RangeLock(lot: ParkingLot(bucketCount: buckets))
        let positions = 96
        let occ = Occupancy(positions)
        let violations = Atomic<Int>(0)
        let fast = Atomic<Int>(0), slow = Atomic<Int>(0)
        let iterations = stressIterations(6_000)
        let seed = testSeed()
        print("RangeLockFastPathTests.writersAndReadersOfOverlappingRangesExclude seed=\(seed)")
        let ok = finishes(within: 120) {
            runThreads(8) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                for i in 0..<iterations {
                    let lo = Int(rng.next() % UInt64(positions - 8))
                    let hi = lo + 1 + Int(rng.next() % 4)
                    let mode: LockMode = rng.next() % 2 == 0 ? .shared : .exclusive
                    // One request in 64 reaches to the end of the space with an
                    // unpackable upper bound (a truncate's shape): the list.
                    let wide = i % 128 == 127
                    let upper = wide ? UInt64.max : UInt64(hi)
                    let held = wide ? lo..<positions : lo..<hi
                    let token: RangeLock.Token
                    if rng.next() % 4 == 0, let got = lock.tryLock(UInt64(lo)..<upper, mode) {
                        token = got
                    } else if rng.next() % 8 == 0 {
                        guard let got = lock.lock(UInt64(lo)..<upper, mode, timeout: .microseconds(200)) else { continue }
                        token = got
                    } else {
                        token = lock.lock(UInt64(lo)..<upper, mode)
                    }
                    if token.isFastPath { fast.wrappingAdd(1, ordering: .relaxed) } else { slow.wrappingAdd(1, ordering: .relaxed) }
                    if !occ.enter(held, mode) { violations.wrappingAdd(1, ordering: .relaxed) }
                    // Stay inside a while (a yield now and then), so that
                    // holders overlap in time even on two cores.
                    if rng.next() % 8 == 0 { sched_yield() } else { for _ in 0..<(rng.next() % 64) { _ = occ.slots[lo].v.load(ordering: .relaxed) } }
                    occ.leave(held, mode)
                    lock.unlock(token)
                }
            }
        }
        #expect(ok, "stuck: lost wake-up (seed \(seed))")
        let v = violations.load(ordering: .relaxed)
        #expect(v == 0, "\(v) exclusion violations (seed \(seed))")
        let f = fast.load(ordering: .relaxed), s = slow.load(ordering: .relaxed)
        print("RangeLockFastPathTests.writersAndReadersOfOverlappingRangesExclude: \(f) fast, \(s) list")
        #expect(f > 0 && s > 0, "both paths must be exercised: \(f) fast, \(s) list (seed \(seed))")
        #expect(lock.outstandingCount == 0 && lock.queuedCount == 0)
    }

    /// Disjoint ranges are held at the same time on the fast path, proved by
    /// a rendezvous, shared and exclusive alike, never queued.
    @Test func disjointRangesAreConcurrentOnTheFastPath() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let inside = Atomic<Int>(0)
        let queued = Atomic<Int>(0)
        let ok = finishes(within: 10) {
            runThreads(4) { t in
                let lo = UInt64(t * 10)
                let token = lock.lock(lo..<lo + 10, t % 2 == 0 ? .exclusive : .shared)
                if !token.isFastPath { queued.wrappingAdd(1, ordering: .relaxed) }
                inside.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while inside.load(ordering: .acquiring) < 4 { sched_yield() }
                lock.unlock(token)
            }
        }
        #expect(ok, "disjoint ranges waited for each other")
        #expect(queued.load(ordering: .relaxed) == 0, "a disjoint range took the list")
    }

    /// An exclusive range queued behind a fast shared holder is granted
    /// before shared ranges that arrive after it and overlap it, although
    /// those would be compatible with the holder: from the writer's arrival on
    /// they queue behind it instead of taking the fast path.
    @Test func queuedWriterIsNotOvertakenByLaterReaders() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let order = EventLog<String>()
        let reader = lock.lock(0..<10, .shared)
        #expect(reader.isFastPath)
        spawnThread {
            let t = lock.lock(0..<10, .exclusive)
            order.append("writer")
            lock.unlock(t)
        }
        #expect(waitUntil { lock.queuedCount == 1 })
        // Waiting for the fast holder, not granted.
        usleep(20_000)
        #expect(order.events.isEmpty, "the writer got in beside a shared holder")
        // A later reader overlapping the writer does not get in beside the
        // first reader…
        #expect(lock.tryLock(5..<6, .shared) == nil)
        for i in 0..<3 {
            spawnThread {
                let t = lock.lock(UInt64(i)..<UInt64(i + 2), .shared)
                order.append("reader\(i)")
                lock.unlock(t)
            }
            #expect(waitUntil { lock.queuedCount == 2 + i })
        }
        #expect(order.events.isEmpty)
        // …and the writer goes first when the holder leaves.
        lock.unlock(reader)
        #expect(waitUntil { order.events.count == 4 })
        #expect(order.events.first == "writer", "order: \(order.events)")
        #expect(waitUntil { lock.outstandingCount == 0 })
    }

    /// The same with a live stream: readers of overlapping ranges keep the
    /// range held on the fast path, always one of them inside, while an
    /// exclusive range over them must get in again and again.
    @Test func exclusiveWaiterProgressesUnderAStreamOfFastReaders() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 4))
        let stop = Atomic<Bool>(false)
        let running = Atomic<Int>(0)
        let fastReads = Atomic<Int>(0)
        for t in 0..<4 {
            spawnThread {
                running.wrappingAdd(1, ordering: .relaxed)
                var i = UInt64(t)
                while !stop.load(ordering: .relaxed) {
                    let tok = lock.lock(i % 8..<i % 8 + 4, .shared)
                    if tok.isFastPath { fastReads.wrappingAdd(1, ordering: .relaxed) }
                    sched_yield()
                    lock.unlock(tok)
                    i &+= 1
                }
                running.wrappingAdd(-1, ordering: .relaxed)
            }
        }
        #expect(waitUntil { running.load(ordering: .relaxed) == 4 && fastReads.load(ordering: .relaxed) > 100 })
        let ok = finishes(within: 30) {
            for _ in 0..<200 {
                let t = lock.lock(0..<16, .exclusive)
                lock.unlock(t)
            }
        }
        stop.store(true, ordering: .relaxed)
        #expect(ok, "exclusive range starved by shared ones")
        #expect(waitUntil { running.load(ordering: .relaxed) == 0 })
        #expect(lock.outstandingCount == 0)
    }

    /// A list request waits for a conflicting fast holder, and a timed one
    /// gives up on it leaving nothing behind (the fast path comes back).
    @Test func listRequestWaitsForAFastHolder() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let holder = lock.lock(3..<4, .exclusive)
        #expect(holder.isFastPath)
        #expect(lock.lock(0..<UInt64.max, .shared, timeout: .milliseconds(10)) == nil)
        #expect(lock.queuedCount == 0)
        let granted = Atomic<Bool>(false)
        spawnThread {
            let t = lock.lock(0..<UInt64.max, .shared)
            granted.store(true, ordering: .releasing)
            lock.unlock(t)
        }
        #expect(waitUntil { lock.queuedCount == 1 })
        usleep(20_000)
        let early = granted.load(ordering: .acquiring)
        #expect(!early, "granted beside a conflicting fast holder")
        lock.unlock(holder)
        #expect(waitUntil { granted.load(ordering: .acquiring) })
        #expect(waitUntil { lock.outstandingCount == 0 })
        let again = lock.lock(3..<4, .exclusive)
        #expect(again.isFastPath)
        lock.unlock(again)
    }

    /// Each mode has its own slots: readers fill the shared ones without
    /// taking an exclusive slot, and an exclusive request still sees a
    /// reader published in a shared slot (and the reverse).
    @Test func sharedAndExclusiveRangesHaveSlotsOfTheirOwn() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let n = RangeLock.fastSlotCount
        var tokens: [RangeLock.Token] = []
        // (Ascending, as the lock-order checker wants ranges of one lock.)
        for i in 0..<n { tokens.append(lock.lock(UInt64(i)..<UInt64(i + 1), .shared)) }
        for i in 0..<n { tokens.append(lock.lock(UInt64(100 + 2 * i)..<UInt64(101 + 2 * i), .exclusive)) }
        let fast = tokens.filter { $0.isFastPath }.count
        #expect(fast == 2 * n, "\(fast) of \(2 * n) on the fast path")
        // A reader past the shared slots takes the list, still granted beside readers.
        let extra = lock.tryLock(0..<UInt64(n), .shared)
        #expect(extra != nil && extra?.isFastPath == false)
        if let extra { lock.unlock(extra) }
        // A writer over a fast reader is refused; a reader over a fast writer too.
        #expect(lock.tryLock(1..<2, .exclusive) == nil, "a writer granted over a fast reader")
        for t in tokens.prefix(n) { lock.unlock(t) }
        #expect(lock.tryLock(100..<101, .shared) == nil, "a reader granted over a fast writer")
        let writer = lock.tryLock(1..<2, .exclusive)
        #expect(writer != nil, "the reader's range is free once it left")
        if let writer { lock.unlock(writer) }
        for t in tokens.suffix(n) { lock.unlock(t) }
        #expect(lock.outstandingCount == 0 && lock.queuedCount == 0)
    }

    /// More concurrent holders than slots: the rest take the list, all exact.
    @Test func moreHoldersThanSlotsTakeTheList() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        var tokens: [RangeLock.Token] = []
        for i in 0..<(RangeLock.fastSlotCount + 4) {
            tokens.append(lock.lock(UInt64(2 * i)..<UInt64(2 * i + 1), .exclusive))
        }
        #expect(tokens.filter(\.isFastPath).count == RangeLock.fastSlotCount)
        #expect(lock.tryLock(0..<1, .shared) == nil)
        #expect(lock.tryLock(2 * UInt64(RangeLock.fastSlotCount) + 2..<2 * UInt64(RangeLock.fastSlotCount) + 3, .shared) == nil)
        let between = lock.tryLock(1..<2, .exclusive)  // disjoint from all
        #expect(between != nil)
        if let between { tokens.append(between) }
        for t in tokens { lock.unlock(t) }
        #expect(lock.outstandingCount == 0 && lock.queuedCount == 0)
    }

    /// The release without a locked instruction (`asymmetricFences`): a fast
    /// holder that releases and re-takes its range as fast as it can, and a
    /// list request (an unpackable `[0, ∞)`, truncate's shape) that waits
    /// for it again and again. The window this hits is the fast release's
    /// store still in its processor's store buffer while its load of
    /// `slowCount` misses the announcement: without the list request's
    /// membarrier it parks for a slot that is clear and nobody wakes it
    /// (the holder then queues behind it: both stuck). Where the kernel
    /// offers membarrier (this project's machines) the plain release must be
    /// the one in use.
    @Test func aListRequestIsWokenByEveryFastReleaseItWaitsFor() {
        // Registered unless the kernel lacks the command or a filter forbids
        // it (then the release is the exchange, and this still runs).
        let registration = RangeLock.membarrierRegistration
        print("aListRequestIsWokenByEveryFastReleaseItWaitsFor: membarrier registration \(registration), plain release \(RangeLock.asymmetricFences)")
        #if os(Linux)
        #expect(RangeLock.asymmetricFences || registration == ENOSYS || registration == EPERM,
                "membarrier(2) registration: errno \(registration), plain release \(RangeLock.asymmetricFences)")
        #endif
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let rounds = stressIterations(20_000)
        let fast = Atomic<Int>(0), waits = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let ok = finishes(within: 60) {
            runThreads(3) { t in
                if t == 0 {
                    for _ in 0..<rounds {
                        let w = lock.lock(0..<UInt64.max, .exclusive)
                        lock.unlock(w)
                        waits.wrappingAdd(1, ordering: .relaxed)
                    }
                    done.store(true, ordering: .releasing)
                } else {
                    // Two holders of disjoint fast ranges inside the wide one.
                    let r = UInt64(t * 4)..<UInt64(t * 4 + 1)
                    while !done.load(ordering: .acquiring) {
                        let h = lock.lock(r, .exclusive)
                        if h.isFastPath { fast.wrappingAdd(1, ordering: .relaxed) }
                        lock.unlock(h)
                    }
                }
            }
        }
        #expect(ok, "stuck: a list request waits for a fast range already released (\(waits.load(ordering: .relaxed)) of \(rounds) rounds done)")
        print("aListRequestIsWokenByEveryFastReleaseItWaitsFor: \(rounds) list rounds, \(fast.load(ordering: .relaxed)) fast holds")
        #expect(fast.load(ordering: .relaxed) > 0, "no fast holds: the race was never run")
        #expect(lock.outstandingCount == 0 && lock.queuedCount == 0)
    }
}
