import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

@Suite struct BitLockTests {
    /// Non-atomic counter, 8 threads on 2 cores, every flavour, with the
    /// default lot and with every key forced into one bucket.
    @Test(arguments: BitFlavour.all, [1, 256])
    func mutualExclusion(_ flavour: BitFlavour, buckets: Int) {
        let lot = ParkingLot(bucketCount: buckets)
        let w = TestWord()
        let counter = UnprotectedCounter()
        let threads = 8
        let iterations = stressIterations(20_000)
        let ok = finishes(within: 120) {
            runThreads(threads) { _ in
                for _ in 0..<iterations {
                    flavour.lock(w, lot)
                    counter.value += 1
                    flavour.unlock(w, lot)
                }
            }
        }
        #expect(ok, "\(flavour): threads stuck (lost wake-up?)")
        #expect(counter.value == threads * iterations, "\(flavour): lost updates")
        #expect(w.bits & BitLockBits.mask == 0, "\(flavour): lock bits left set")
    }

    /// Locks sharing one bucket: waking the wrong key or losing a wake-up
    /// would hang or break exclusion.
    @Test(arguments: BitFlavour.all)
    func manyKeysOneBucket(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let words = (0..<3).map { _ in TestWord() }
        let counters = (0..<3).map { _ in UnprotectedCounter() }
        let iterations = stressIterations(10_000)
        let ok = finishes(within: 120) {
            runThreads(9) { t in
                let k = t % 3
                for _ in 0..<iterations {
                    flavour.lock(words[k], lot)
                    counters[k].value += 1
                    flavour.unlock(words[k], lot)
                }
            }
        }
        #expect(ok, "\(flavour): stuck with all keys in one bucket")
        for c in counters { #expect(c.value == 3 * iterations) }
    }

    /// The combined forms an owner with a count in the same word uses (a
    /// folio's pin + lock in one atomic): they act only on a free, unwaited,
    /// matching word and leave every other bit alone.
    @Test func tryLockAddingChecksTheWord() {
        let count: UInt64 = 1 << 32, live: UInt64 = 1 << 16, other: UInt64 = 1 << 4
        let w = TestWord()
        let take = { BitLock.tryLock(w.word, adding: count, ifMasked: live, equals: live) }
        #expect(!take(), "not live: refused")
        #expect(w.bits == 0)
        w.word.store(live | other, ordering: .relaxed)
        #expect(take())
        #expect(w.bits == live | other | count | BitLockBits.locked)
        #expect(!take(), "locked: refused")
        w.word.store(live | other | BitLockBits.parked, ordering: .relaxed)
        #expect(!take(), "waiters parked: refused")
        w.word.store(live | other | count | BitLockBits.locked, ordering: .relaxed)
        let old = BitLock.unlock(w.word, key: w.key, lot: ParkingLot(bucketCount: 1), subtracting: count)
        #expect(old == live | other | count | BitLockBits.locked)
        #expect(w.bits == live | other)
    }

    /// Threads mixing the combined fast path (take + count in one CAS) with
    /// the ordinary one (count, then lock — parking if needed), all releasing
    /// with the combined unlock: exclusion holds, no wake-up is lost (the
    /// combined unlock must still wake parked waiters), and the count returns
    /// to zero.
    @Test(arguments: BitFlavour.all)
    func combinedFastPathUnderContention(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let count: UInt64 = 1 << 32, live: UInt64 = 1 << 16
        let w = TestWord()
        w.word.store(live, ordering: .relaxed)
        let counter = UnprotectedCounter()
        let threads = 6
        let iterations = stressIterations(20_000)
        let ok = finishes(within: 120) {
            runThreads(threads) { _ in
                for _ in 0..<iterations {
                    if !BitLock.tryLock(w.word, adding: count, ifMasked: live, equals: live) {
                        w.word.wrappingAdd(count, ordering: .relaxed)
                        flavour.lock(w, lot)
                    }
                    counter.value += 1
                    flavour.unlock(w, lot, subtracting: count)
                }
            }
        }
        #expect(ok, "\(flavour): threads stuck (lost wake-up?)")
        #expect(counter.value == threads * iterations, "\(flavour): lost updates")
        #expect(w.bits == live, "\(flavour): word not restored: \(String(w.bits, radix: 16))")
    }

    @Test(arguments: BitFlavour.all)
    func tryLockNeverBlocks(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let w = TestWord()
        let release = Atomic<Bool>(false)
        let held = Atomic<Bool>(false)
        spawnThread {
            flavour.lock(w, lot)
            held.store(true, ordering: .releasing)
            while !release.load(ordering: .acquiring) { sched_yield() }
            flavour.unlock(w, lot)
        }
        #expect(waitUntil { held.load(ordering: .acquiring) })
        // The holder keeps the lock until we say so: if tryLock blocked, this
        // would never return.
        let returned = finishes(within: 10) { #expect(!flavour.tryLock(w, lot)) }
        #expect(returned)
        release.store(true, ordering: .releasing)
        #expect(waitUntil { w.bits & BitLockBits.locked == 0 })
        #expect(flavour.tryLock(w, lot))
        flavour.unlock(w, lot)
    }

    @Test(arguments: BitFlavour.all)
    func timeoutReturnsWithoutTheLock(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        flavour.lock(w, lot)
        let got = Atomic<Bool>(true)
        let ok = finishes(within: 10) { got.store(flavour.lock(w, lot, timeout: .milliseconds(20), stats), ordering: .relaxed) }
        #expect(ok)
        let gotIt = got.load(ordering: .relaxed)
        #expect(!gotIt)
        #expect(stats.snapshot.timeouts == 1)
        // Still held by us; the timed-out waiter left nothing behind.
        #expect(w.bits & BitLockBits.mask == BitLockBits.locked)
        #expect(lot.parkedCount(key: w.key) == 0)
        flavour.unlock(w, lot)
        #expect(flavour.lock(w, lot, timeout: .milliseconds(20)))
        flavour.unlock(w, lot)
        #expect(w.bits == 0)
    }

    @Test(arguments: BitFlavour.all)
    func negativeTimeoutsMeanNoWait(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let w = TestWord()
        flavour.lock(w, lot)
        for t: Duration in [.milliseconds(-1), .nanoseconds(-5), .seconds(-2), .zero] {
            let got = flavour.lock(w, lot, timeout: t)
            #expect(!got)
        }
        flavour.unlock(w, lot)
        #expect(w.bits == 0)
    }

    /// Flags the owner keeps in the same word survive lock traffic.
    @Test(arguments: BitFlavour.all)
    func otherBitsOfTheWordSurvive(_ flavour: BitFlavour) {
        let lot = ParkingLot(bucketCount: 1)
        let w = TestWord()
        let flag: UInt64 = 1 << 40
        let iterations = stressIterations(5_000)
        runThreads(4) { t in
            for i in 0..<iterations {
                flavour.lock(w, lot)
                if t == 0 && i % 2 == 0 { w.word.bitwiseOr(flag, ordering: .relaxed) }
                if t == 0 && i % 2 == 1 { w.word.bitwiseAnd(~flag, ordering: .relaxed) }
                flavour.unlock(w, lot)
            }
        }
        #expect(w.bits == 0, "bits left: \(String(w.bits, radix: 16))")
    }
}
