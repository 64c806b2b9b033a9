import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct SpinnerCapTests {
    /// `maxSpinners` caps the threads spinning at once (process-wide): with
    /// a cap of 0 nobody spins (every slow acquisition parks), with a cap of
    /// 1 exclusion still holds, and every slot taken is given back.
    @Test(arguments: [0, 1])
    func theCapHoldsAndSlotsAreReturned(_ cap: Int) {
        let lot = ParkingLot(bucketCount: 1)
        let policy = HybridLockPolicy(spinLimit: 1000, maxSpinners: cap)
        let stats = LockStatistics()
        let w = TestWord()
        let counter = UnprotectedCounter()
        let peak = Atomic<Int>(0)
        let threads = 6, iterations = stressIterations(5_000)
        let ok = finishes(within: 120) {
            runThreads(threads) { _ in
                for _ in 0..<iterations {
                    HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                    peak.max(HybridLock.spinners.load(ordering: .relaxed), ordering: .relaxed)
                    counter.value += 1
                    HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                }
            }
        }
        #expect(ok, "cap \(cap): stuck")
        #expect(counter.value == threads * iterations, "cap \(cap): lost updates")
        #expect(HybridLock.spinners.load(ordering: .relaxed) == 0, "cap \(cap): spinner slots leaked")
        #expect(peak.load(ordering: .relaxed) <= cap, "cap \(cap): \(peak.load(ordering: .relaxed)) threads spinning at once")
        if cap == 0 { #expect(stats.snapshot.spinAcquisitions == 0, "cap 0: a thread spun") }
    }
}

@Suite struct HybridLockTests {
    /// With unfairness 0 the lock is handed from owner to owner in the order
    /// the waiters parked, and a thread that never queued (a barger trying
    /// the lock all the time) never gets it while anyone waits.
    @Test func strictFairAcquiresInArrivalOrder() {
        let lot = ParkingLot(bucketCount: 1)
        let policy = HybridLockPolicy.fair
        let w = TestWord()
        let order = EventLog<Int>()
        let n = 6
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy)
        for i in 0..<n {
            spawnThread {
                HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy)
                order.append(i)
                HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy)
            }
            // Arrival order is park order: wait until thread i is queued.
            #expect(waitUntil { lot.parkedCount(key: w.key) == i + 1 })
        }
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy)
        var bargerWins = 0
        while order.events.count < n {
            if HybridLock.tryLock(w.word, key: w.key, lot: lot, policy: policy) {
                if order.events.count < n { bargerWins += 1 }
                HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy)
            }
        }
        #expect(order.events == Array(0..<n))
        #expect(bargerWins == 0, "a barger overtook queued waiters \(bargerWins) times")
    }

    /// The window inside a strict-FIFO unlock: the bit has dropped (one
    /// `lock xadd`) but the unlocker has not yet re-taken it for the parked
    /// waiter. A thread arriving exactly then must not keep the lock: it
    /// passes it to the waiter and queues behind it. The window is built by
    /// hand (dropping the bit without the slow path) so the test is exact.
    @Test(arguments: [false, true])
    func strictFairArrivalInTheUnlockWindowYields(_ blocking: Bool) {
        let lot = ParkingLot(bucketCount: 1)
        let policy = HybridLockPolicy.fair
        let w = TestWord()
        let order = EventLog<String>()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy)
        spawnThread {
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy)
            order.append("waiter")
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy)
        }
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 })
        // First half of an unlock: bit dropped, `parked` still set.
        w.word.wrappingSubtract(BitLockBits.locked, ordering: .releasing)
        #expect(w.bits == BitLockBits.parked)
        if blocking {
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy)
            order.append("newcomer")
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy)
            #expect(order.events == ["waiter", "newcomer"])
        } else {
            let got = HybridLock.tryLock(w.word, key: w.key, lot: lot, policy: policy)
            #expect(!got)
            #expect(waitUntil { order.events == ["waiter"] })
        }
        #expect(waitUntil { w.bits == 0 })
    }

    /// Under heavy contention (8 threads, 2 cores) no acquisition follows more
    /// than `unfairness` lost races.
    @Test(arguments: [UInt64(0), 1, 5])
    func lostRacesAreBounded(_ unfairness: UInt64) {
        let lot = ParkingLot(bucketCount: 1)
        let policy = HybridLockPolicy(spinLimit: 40, unfairness: unfairness, maxWait: nil)
        let stats = LockStatistics()
        let w = TestWord()
        let counter = UnprotectedCounter()
        let iterations = stressIterations(unfairness == 0 ? 2_000 : 20_000)
        let ok = finishes(within: 120) {
            runThreads(8) { _ in
                for _ in 0..<iterations {
                    HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                    counter.value += 1
                    HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                }
            }
        }
        #expect(ok)
        let s = stats.snapshot
        #expect(counter.value == 8 * iterations)
        #expect(s.maxLostRaces <= unfairness, "an acquisition followed \(s.maxLostRaces) lost races (bound \(unfairness)); \(s)")
        if unfairness == 0 { #expect(s.lostRaces == 0) }
    }

    /// The instrument sees lost races when nothing bounds them, so the bound
    /// above is not vacuous: the holder unlocks (waking a parked waiter) and
    /// re-locks at once, long before the woken thread runs. Repeated until a
    /// loss is seen, since the scheduler could in principle run the waiter
    /// first every time.
    @Test func bargingLosesRaces() {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        let p = HybridLockPolicy.barging
        for _ in 0..<50 where stats.snapshot.lostRaces == 0 {
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
            let done = Atomic<Bool>(false)
            spawnThread {
                HybridLock.lock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
                HybridLock.unlock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
                done.store(true, ordering: .releasing)
            }
            #expect(waitUntil { lot.parkedCount(key: w.key) == 1 })
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
            usleep(1_000)
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
            #expect(waitUntil { done.load(ordering: .acquiring) })
        }
        let s = stats.snapshot
        #expect(s.handoffs == 0)
        #expect(s.lostRaces > 0, "no lost race observed: \(s)")
    }

    /// A waiter parked longer than `maxWait` is handed the lock even though
    /// the lost-race bound is off; without a time bound it is only woken.
    @Test(arguments: [true, false])
    func maxWaitForcesHandoff(_ bounded: Bool) {
        let lot = ParkingLot(bucketCount: 1)
        // (A plain handoff: waking ahead, which spends one unlock first,
        // is HybridTimeBoundTests'.)
        let policy = HybridLockPolicy(spinLimit: 0, unfairness: HybridLockPolicy.unbounded,
                                      maxWait: bounded ? .milliseconds(1) : nil, handoffSpin: 0)
        let stats = LockStatistics()
        let w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let done = Atomic<Bool>(false)
        spawnThread {
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            done.store(true, ordering: .releasing)
        }
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 })
        usleep(5_000)
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { done.load(ordering: .acquiring) })
        #expect(stats.snapshot.handoffs == (bounded ? 1 : 0))
    }

    @Test func presetsAreWhatTheySay() {
        #expect(HybridLockPolicy.fair.unfairness == 0 && HybridLockPolicy.fair.spinLimit == 0)
        #expect(HybridLockPolicy.barging.unfairness == HybridLockPolicy.unbounded && HybridLockPolicy.barging.maxWait == nil)
        #expect(HybridLockPolicy.hybrid.unfairness == 5 && HybridLockPolicy.hybrid.maxWait == .milliseconds(1) && HybridLockPolicy.hybrid.handoffSpin > 0)
    }
}
