import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Per-position occupancy, checked with atomics so that a violation is seen
/// as a wrong value, not only as a data race: -1 = exclusive holder, n > 0 =
/// n shared holders.
final class Occupancy: Sendable {
    let slots: [Slot]
    final class Slot: Sendable { let v = Atomic<Int>(0) }
    init(_ n: Int) { slots = (0..<n).map { _ in Slot() } }

    /// Returns false if entering `range` in `mode` violates the lock contract.
    func enter(_ range: Range<Int>, _ mode: LockMode) -> Bool {
        var ok = true
        for i in range {
            if mode == .exclusive {
                if !slots[i].v.compareExchange(expected: 0, desired: -1, ordering: .relaxed).exchanged { ok = false }
            } else {
                if slots[i].v.wrappingAdd(1, ordering: .relaxed).oldValue < 0 { ok = false }
            }
        }
        return ok
    }

    func leave(_ range: Range<Int>, _ mode: LockMode) {
        for i in range {
            if mode == .exclusive { slots[i].v.store(0, ordering: .relaxed) } else { slots[i].v.wrappingAdd(-1, ordering: .relaxed) }
        }
    }
}

@Suite struct RangeLockTests {
    /// Random overlapping ranges, random modes, 8 threads: no position is ever
    /// held exclusively by two, or shared and exclusive at once.
    @Test(arguments: [1, 256])
    func overlappingConflictingRangesExclude(buckets: Int) {
        let lock = RangeLock(lot: ParkingLot(bucketCount: buckets))
        let occ = Occupancy(64)
        let violations = Atomic<Int>(0)
        let iterations = stressIterations(4_000)
        let seed = testSeed()
        print("RangeLockTests.overlappingConflictingRangesExclude seed=\(seed)")
        let ok = finishes(within: 120) {
            runThreads(8) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                for _ in 0..<iterations {
                    let lo = Int(rng.next() % 60)
                    let hi = lo + 1 + Int(rng.next() % 4)
                    let mode: LockMode = rng.next() % 3 == 0 ? .shared : .exclusive
                    let token = lock.lock(UInt64(lo)..<UInt64(hi), mode)
                    if !occ.enter(lo..<hi, mode) { violations.wrappingAdd(1, ordering: .relaxed) }
                    occ.leave(lo..<hi, mode)
                    lock.unlock(token)
                }
            }
        }
        #expect(ok, "stuck: lost wake-up (seed \(seed))")
        let v = violations.load(ordering: .relaxed)
        #expect(v == 0, "\(v) exclusion violations (seed \(seed))")
        #expect(lock.outstandingCount == 0)
    }

    @Test func sharedOverlapsSharedButNotExclusive() {
        let lock = RangeLock()
        let a = lock.lock(0..<10, .shared)
        let b = lock.tryLock(5..<15, .shared)
        #expect(b != nil)
        #expect(lock.tryLock(8..<9, .exclusive) == nil)
        #expect(lock.tryLock(9..<20, .exclusive) == nil)
        let c = lock.tryLock(15..<20, .exclusive)
        #expect(c != nil)
        lock.unlock(a)
        if let b { lock.unlock(b) }
        if let c { lock.unlock(c) }
        let d = lock.tryLock(0..<100, .exclusive)
        #expect(d != nil)
        if let d { lock.unlock(d) }
    }

    /// Disjoint exclusive ranges are held at the same time, proved by a
    /// rendezvous: each holder waits, inside, for the other to be inside.
    @Test func disjointRangesRunConcurrently() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let inside = Atomic<Int>(0)
        let ok = finishes(within: 10) {
            runThreads(4) { t in
                let lo = UInt64(t * 10)
                let token = lock.lock(lo..<lo + 10, .exclusive)
                inside.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while inside.load(ordering: .acquiring) < 4 { sched_yield() }
                lock.unlock(token)
            }
        }
        #expect(ok, "disjoint ranges waited for each other")
    }

    /// A wide range queued behind a narrow holder is granted before narrow
    /// ranges that arrive after it, so a stream of narrow ranges cannot starve
    /// it.
    @Test func wideRangeIsNotStarvedByNarrowOnes() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let order = EventLog<String>()
        let first = lock.lock(3..<4, .exclusive)
        spawnThread {
            let t = lock.lock(0..<64, .exclusive)
            order.append("wide")
            lock.unlock(t)
        }
        #expect(waitUntil { lock.outstandingCount == 2 })
        // Later narrow requests (inside the wide range, disjoint from the
        // holder) queue behind the wide one instead of overtaking it.
        #expect(lock.tryLock(10..<11, .exclusive) == nil)
        for i in 0..<4 {
            spawnThread {
                let t = lock.lock(UInt64(10 + i)..<UInt64(11 + i), .exclusive)
                order.append("narrow\(i)")
                lock.unlock(t)
            }
            #expect(waitUntil { lock.outstandingCount == 3 + i })
        }
        #expect(order.events.isEmpty)
        lock.unlock(first)
        #expect(waitUntil { order.events.count == 5 })
        #expect(order.events.first == "wide", "order: \(order.events)")
    }

    /// The same with a live stream: narrow lockers hammer the range while a
    /// wide exclusive request must get in repeatedly.
    @Test func wideRangeProgressesUnderAStreamOfNarrowOnes() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 4))
        let stop = Atomic<Bool>(false)
        let running = Atomic<Int>(0)
        for t in 0..<4 {
            spawnThread {
                running.wrappingAdd(1, ordering: .relaxed)
                var i = UInt64(t)
                while !stop.load(ordering: .relaxed) {
                    let tok = lock.lock(i % 64..<i % 64 + 1, .exclusive)
                    lock.unlock(tok)
                    i &+= 4
                }
                running.wrappingAdd(-1, ordering: .relaxed)
            }
        }
        #expect(waitUntil { running.load(ordering: .relaxed) == 4 })
        let ok = finishes(within: 30) {
            for _ in 0..<200 {
                let t = lock.lock(0..<64, .exclusive)
                lock.unlock(t)
            }
        }
        stop.store(true, ordering: .relaxed)
        #expect(ok, "wide range starved")
        #expect(waitUntil { running.load(ordering: .relaxed) == 0 })
    }

    @Test func timeoutLeavesNothingBehind() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let holder = lock.lock(0..<10, .exclusive)
        let gaveUp = lock.lock(5..<20, .exclusive, timeout: .milliseconds(10))
        #expect(gaveUp == nil)
        #expect(lock.outstandingCount == 1)
        // The abandoned request must not block a later one it overlapped.
        let later = lock.tryLock(15..<20, .exclusive)
        #expect(later != nil)
        if let later { lock.unlock(later) }
        lock.unlock(holder)
        let got = lock.lock(0..<20, .exclusive, timeout: .milliseconds(10))
        #expect(got != nil)
        if let got { lock.unlock(got) }
    }

    @Test func emptyRangesConflictWithNothing() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let all = lock.lock(0..<UInt64.max, .exclusive)
        let empty = lock.tryLock(5..<5, .exclusive)
        #expect(empty != nil)
        // An empty request queued while a range covering it is held must not
        // be counted by that range's release…
        let emptyShared = lock.lock(5..<5, .shared)
        lock.unlock(all)
        // …and a held empty range must not block a later request around it.
        let around = lock.lock(0..<10, .shared, timeout: .seconds(5))
        #expect(around != nil)
        if let around { lock.unlock(around) }
        if let empty { lock.unlock(empty) }
        lock.unlock(emptyShared)
        #expect(lock.outstandingCount == 0)
    }

    @Test func negativeTimeoutsMeanNoWait() {
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1))
        let holder = lock.lock(0..<10, .exclusive)
        for t: Duration in [.milliseconds(-1), .nanoseconds(-1), .seconds(-3), .zero] {
            #expect(lock.lock(0..<1, .exclusive, timeout: t) == nil)
        }
        lock.unlock(holder)
        #expect(lock.outstandingCount == 0)
    }
}
