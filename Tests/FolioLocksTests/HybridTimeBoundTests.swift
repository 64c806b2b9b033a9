import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The hybrid's time bound (`maxWait`) and its one-awake-waiter rule
/// (`singleWaker`), for the shipped default and every variant of
/// docs/fairness.md that has a time bound.
@Suite struct HybridTimeBoundTests {
    /// The variants with a time bound, made to rely on it alone (no
    /// lost-race bound), with the bound given.
    static func timeBoundOnly(_ p: HybridLockPolicy, _ bound: Duration) -> HybridLockPolicy {
        var q = p
        q.unfairness = HybridLockPolicy.unbounded
        q.maxWait = bound
        return q
    }

    static let timeBounded: [HybridLockPolicy] = [.hybrid] + HybridLockPolicy.testVariants.filter { $0 != .kernel }

    /// "Handed off by the first unlock after the bound", checked exactly
    /// (no wall-clock limit on the waiter, whose wake-up the scheduler may
    /// delay by ticks): a waiter W parks; the holder sleeps past W's bound
    /// and unlocks; the unlock keeps the bit set for W — the holder's
    /// `tryLock` right after it fails — and W owns the lock by handoff.
    /// Waking ahead (`handoffSpin`) spends one more unlock: the first wakes W,
    /// which parks again spinning, and the second hands over (the bound plus
    /// one handoff). Before the bound (`beforeTheBound`) an unlock hands
    /// nothing over.
    @Test(arguments: timeBounded)
    func theFirstUnlockAfterTheBoundHandsOver(_ base: HybridLockPolicy) {
        let bound = Duration.milliseconds(20)
        let policy = Self.timeBoundOnly(base, bound)
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let waiter = Waiter(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 })
        usleep(UInt32(bound.clampedMicroseconds * 2))
        // (Under restriction W is due by its own clock and asks for
        // attention: the first unlock hands over.)
        let allowed = policy.handoffSpin > 0 && !policy.isRestricted ? 2 : 1
        var unlocks = 0, handedOver = false
        while unlocks < allowed {
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            unlocks += 1
            if !HybridLock.tryLock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats) {
                handedOver = true
                break
            }
            // Woken ahead and beaten to the bit: W parks again, spinning.
            if unlocks < allowed { #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }) }
        }
        #expect(handedOver, "\(policy): \(allowed) unlock(s) after the bound left the bit free for a barger")
        if !handedOver { HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats) }
        #expect(waitUntil { waiter.owns.load(ordering: .acquiring) })
        waiter.release.store(true, ordering: .releasing)
        #expect(waitUntil { waiter.done.load(ordering: .acquiring) })
        let s = stats.snapshot
        if policy.isRestricted {
            #expect(s.handoffs == 1 && s.aheadWakes == 0, "\(policy): \(s)")
        } else if policy.handoffSpin > 0 {
            // Woken ahead, W may also have taken the bit itself before the
            // holder's re-lock; either way it got it at the first chance.
            #expect(s.aheadWakes == 1 && s.handoffs <= 1, "\(policy): \(s)")
        } else {
            #expect(s.handoffs == 1, "\(policy): \(s)")
        }
        #expect(s.maxRetryWakeWaitNanoseconds < UInt64(bound.clampedMicroseconds) * 1_000, "\(policy): a waiter past the bound was woken to race: \(s)")
    }

    /// The other half: an unlock well before the bound (100 ms) only wakes W
    /// to race, whoever then wins.
    @Test(arguments: timeBounded)
    func beforeTheBoundNothingIsHandedOver(_ base: HybridLockPolicy) {
        let policy = Self.timeBoundOnly(base, .milliseconds(100))
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let waiter = Waiter(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 })
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { waiter.owns.load(ordering: .acquiring) })
        waiter.release.store(true, ordering: .releasing)
        #expect(waitUntil { waiter.done.load(ordering: .acquiring) })
        let s = stats.snapshot
        #expect(s.handoffs == 0 && s.aheadWakes == 0, "\(policy): handed over before the bound: \(s)")
    }

    /// W's flags: it owns the lock; it may let go; it is done.
    final class Waiter: Sendable {
        let owns = Atomic<Bool>(false), release = Atomic<Bool>(false), done = Atomic<Bool>(false)

        /// Starts W: lock, report ownership, hold the lock until told to
        /// let go (so that the bit shows who owns it), unlock.
        init(_ w: TestWord, _ lot: ParkingLot, _ policy: HybridLockPolicy, _ stats: LockStatistics) {
            spawnThread { [self] in
                HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                owns.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) { usleep(100) }
                HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                done.store(true, ordering: .releasing)
            }
        }
    }

    /// Instrumented, under contention (6 threads on 2 cores, one lock, no
    /// lost-race bound, a 2 ms time bound; every 256th critical section
    /// sleeps 3 ms so that waiters do pass the bound): no unlock ever wakes
    /// a waiter that is past the bound to race for the lock
    /// (`maxRetryWakeWaitNanoseconds` < bound) — a due waiter gets the lock
    /// from the first unlock that finds the bit free, and the instrument
    /// counts how many unlocks found a barger holding it instead
    /// (`maxHandoffDeferrals`); the bound is exercised (handoffs happen),
    /// exclusion holds and nothing is stuck.
    @Test(arguments: timeBounded)
    func noWaiterIsWokenToRacePastTheBound(_ base: HybridLockPolicy) {
        let bound = Duration.milliseconds(2)
        let boundNs = UInt64(bound.clampedMicroseconds) * 1_000
        let policy = Self.timeBoundOnly(base, bound)
        let threads = 6, iterations = stressIterations(4_000)
        let run = HybridContendedRun(policy: policy, threads: threads, iterations: iterations, sleepEvery: 256, sleepMicroseconds: 3_000)
        #expect(run.finished, "\(policy): stuck")
        let s = run.statistics
        #expect(run.count == threads * iterations, "\(policy): lost updates")
        #expect(run.bits & BitLockBits.all == 0, "\(policy): bits left: \(String(run.bits, radix: 2))")
        #expect(s.handoffs > 0, "\(policy): the bound never fired: \(s)")
        #expect(s.maxRetryWakeWaitNanoseconds < boundNs, "\(policy): an unlock woke a waiter parked \(s.maxRetryWakeWaitNanoseconds) ns (> bound \(boundNs)) to race: \(s)")
        // Bargers in the instant between an unlock's drop and its re-take
        // defer a handoff to their own unlock (as in Linux, whose unlock also
        // clears the bit before it wakes). Alone on this machine that is rare
        // (0–3 per run); under CI's parallel tests one waiter was once passed
        // over 10 times in a row, and under ThreadSanitizer on a slower
        // machine 41 times (`singleWaker`, one spinner). Printed, and bounded
        // loosely: a handoff that is not being retried would pass a due
        // waiter over for the rest of the run (thousands of unlocks).
        print("\(policy): handoffs \(s.handoffs), deferred \(s.deferredHandoffs), most deferrals of one waiter \(s.maxHandoffDeferrals), longest wait \(s.maxWaitNanoseconds / 1_000) µs")
        #expect(s.maxHandoffDeferrals <= 128, "\(policy): one due waiter was passed over by \(s.maxHandoffDeferrals) unlocks: \(s)")
    }

    /// The count bound still holds for every variant (the time bound off):
    /// no acquisition follows more than `unfairness` lost races.
    @Test(arguments: [HybridLockPolicy.hybrid] + HybridLockPolicy.testVariants)
    func lostRacesStayBounded(_ base: HybridLockPolicy) {
        var tuned = base
        tuned.unfairness = 2
        tuned.maxWait = nil
        let policy = tuned
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        let counter = UnprotectedCounter()
        let iterations = stressIterations(20_000)
        let ok = finishes(within: 120) {
            runThreads(8) { _ in
                for _ in 0..<iterations {
                    HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                    counter.value += 1
                    for _ in 0..<20 { _ = w.word.load(ordering: .relaxed) }
                    HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                }
            }
        }
        #expect(ok)
        let s = stats.snapshot
        #expect(counter.value == 8 * iterations)
        #expect(s.maxLostRaces <= 2, "\(policy): an acquisition followed \(s.maxLostRaces) lost races (bound 2): \(s)")
    }

    /// `singleWaker` never strands a waiter: threads on two locks sharing one
    /// bucket (the bucket holds one awake mark), half of them with timed
    /// locks that give up (a woken waiter that leaves at its timeout passes
    /// the skipped wake on). Exclusion holds, nobody is stuck, and unlocks
    /// did skip wakes (the rule was exercised).
    @Test(arguments: [0, 40])
    func oneAwakeWaiterLosesNoWakeUp(_ spin: Int) {
        let policy = HybridLockPolicy(spinLimit: spin, singleWaker: true)
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let words = [TestWord(), TestWord()]
        let counters = [UnprotectedCounter(), UnprotectedCounter()]
        let threads = 8, iterations = stressIterations(20_000)
        // Each thread counts its own acquisitions (only it writes its tally).
        let acquired = (0..<threads).map { _ in UnprotectedCounter() }
        // Without spinning, rounds until an unlock skipped a wake (at most
        // 10): under a sanitizer's slowdown one round of a reduced stress
        // scale parked too rarely to exercise the rule (77 parks, 0 skipped,
        // once in CI's ASan pass).
        var ok = true
        var rounds = 0
        repeat {
            rounds += 1
            ok = finishes(within: 120) {
                runThreads(threads) { t in
                let k = t % 2
                let timed = t % 4 >= 2
                for _ in 0..<iterations {
                    if timed {
                        guard HybridLock.lock(words[k].word, key: words[k].key, lot: lot, policy: policy,
                                              timeout: .microseconds(50), statistics: stats) else { continue }
                    } else {
                        HybridLock.lock(words[k].word, key: words[k].key, lot: lot, policy: policy, statistics: stats)
                    }
                    counters[k].value += 1
                    for _ in 0..<20 { _ = words[k].word.load(ordering: .relaxed) }
                    acquired[t].value += 1
                    HybridLock.unlock(words[k].word, key: words[k].key, lot: lot, policy: policy, statistics: stats)
                }
                }
            }
        } while ok && spin == 0 && stats.snapshot.skippedWakes == 0 && rounds < 10
        #expect(ok, "spin \(spin): stuck (a skipped wake-up never passed on?)")
        let s = stats.snapshot
        for k in 0..<2 {
            #expect(counters[k].value == (0..<threads).filter { $0 % 2 == k }.reduce(0) { $0 + acquired[$1].value }, "spin \(spin): lost updates")
            #expect(words[k].bits & BitLockBits.mask == 0, "spin \(spin): lock bits left set")
        }
        // Without spinning the waiters park and unlocks skip wakes all the
        // time; with spinning most slow acquisitions never park.
        if spin == 0 { #expect(s.skippedWakes > 0, "spin \(spin): no unlock skipped a wake: \(s)") }
        print("singleWaker spin \(spin): skipped wakes \(s.skippedWakes), timeouts \(s.timeouts), parks \(s.parks), rounds \(rounds)")
    }

    @Test func presetsAreWhatTheySay() {
        let k = HybridLockPolicy.kernel
        #expect(k.spinLimit == 40 && k.unfairness == 5 && k.maxWait == nil && k.maxSpinners == nil && !k.singleWaker && !k.yieldOnHandoff)
        #expect(HybridLockPolicy.hybrid == HybridLockPolicy(spinLimit: 0, unfairness: 5, maxWait: .milliseconds(1), handoffSpin: 2_000),
                "the default is the sweep's winner (docs/fairness.md)")
        #expect(HybridLockPolicy.fair.handoffSpin == 0 && HybridLockPolicy.barging.spinLimit == 40 && HybridLockPolicy.barging.handoffSpin == 0)
    }
}

extension Duration {
    var clampedMicroseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000 + a / 1_000_000_000_000
    }
}
