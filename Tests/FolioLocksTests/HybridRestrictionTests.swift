import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Concurrency restriction (`HybridLockPolicy.restrictSpin`): one spinner,
/// everyone else parked; an unlock skips the parking lot while the spinner
/// is there, and a spinner that gives up passes the wake on.
@Suite struct HybridRestrictionTests {
    /// A policy whose time bound never fires during a test (60 s), so that
    /// only the spinner protocol can wake anyone: a lost wake-up shows as a
    /// waiter that never gets the lock.
    static func restricted(spin: Int) -> HybridLockPolicy {
        HybridLockPolicy(spinLimit: 0, unfairness: 5, maxWait: .seconds(60), handoffSpin: 0, restrictSpin: spin)
    }

    /// A spin budget no test outlives (2^40 `pause`s: hours), so that a
    /// spinner stops only by the protocol's own rules.
    static let forGood = 1 << 40

    /// A thread that takes the lock, says so, holds it until told, unlocks.
    final class Locker: Sendable {
        let owns = Atomic<Bool>(false), release = Atomic<Bool>(false), done = Atomic<Bool>(false)
        init(_ w: TestWord, _ lot: ParkingLot, _ policy: HybridLockPolicy, _ stats: LockStatistics) {
            spawnThread { [self] in
                HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                owns.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) { usleep(100) }
                HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                done.store(true, ordering: .releasing)
            }
        }
        func finish() -> Bool {
            release.store(true, ordering: .releasing)
            return waitUntil { done.load(ordering: .acquiring) }
        }
    }

    /// Of two lockers waiting for one lock, the one that owns it finishes
    /// first (it must own it now), then the other must get it and finish.
    static func finishInTurn(_ a: Locker, _ b: Locker, _ lost: Comment = "a wake-up was lost") {
        let aFirst = a.owns.load(ordering: .acquiring)
        let (first, second) = aFirst ? (a, b) : (b, a)
        #expect(first.finish())
        #expect(waitUntil(seconds: 5) { second.owns.load(ordering: .acquiring) }, lost)
        #expect(second.finish())
    }

    /// Holder H (this thread) with a sleeper Q that is never due, then S
    /// arriving with `spinnerPolicy` and spinning (Q sleeps). The scene of
    /// the time-bound tests.
    struct HolderSleeperSpinner {
        let lot: ParkingLot, stats: LockStatistics, w: TestWord
        let q: Sleeper, s: Locker

        init(holding policy: HybridLockPolicy, spinnerPolicy: HybridLockPolicy) {
            let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            let q = Sleeper(w, lot)
            #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }, "the sleeper never parked")
            let s = Locker(w, lot, spinnerPolicy, stats)
            #expect(waitUntil { w.bits & BitLockBits.spinner != 0 }, "the spinner never spun")
            (self.lot, self.stats, self.w, self.q, self.s) = (lot, stats, w, q, s)
        }

        /// The sleeper is woken at the end and every bit clears.
        func finish() {
            #expect(waitUntil { q.woke.load(ordering: .acquiring) }, "the sleeper was never woken")
            #expect(waitUntil { w.bits & BitLockBits.all == 0 }, "bits left: \(String(w.bits, radix: 2))")
        }
    }

    /// A sleeper that is never due: a thread parked on the lock's key (its
    /// validation sets `parked`, as a waiter's does) with a token stamped
    /// at the end of time and no `attention`, so that due waiters queue
    /// ahead of it and no unlock hands it the lock. A spinner keeps spinning while it
    /// sleeps. Woken (as the spinner, at the end of a test), it gives the
    /// bit up and leaves without the lock.
    final class Sleeper: Sendable {
        let woke = Atomic<Bool>(false)
        init(_ w: TestWord, _ lot: ParkingLot) {
            spawnThread { [self] in
                _ = lot.park(key: w.key, token: ParkToken(timestamp: .max), validate: {
                    w.word.bitwiseOr(BitLockBits.parked, ordering: .relaxed)
                    return true
                })
                w.word.bitwiseAnd(~BitLockBits.spinner, ordering: .relaxed)
                woke.store(true, ordering: .releasing)
            }
        }
    }

    /// This thread holds the lock (H); P arrives and parks at once (the
    /// first waiter of a held lock does not spin), then S arrives and spins
    /// (the spinner bit appears: somebody sleeps).
    struct HolderSpinnerParked {
        let lot: ParkingLot, stats: LockStatistics, w: TestWord
        let policy: HybridLockPolicy
        let s: Locker, p: Locker

        init(_ policy: HybridLockPolicy) {
            let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            let p = Locker(w, lot, policy, stats)
            let parked = waitUntil { lot.parkedCount(key: w.key) == 1 }
            #expect(parked, "the first waiter never parked")
            #expect(w.bits & BitLockBits.spinner == 0, "the first waiter spun although nobody slept")
            let s = Locker(w, lot, policy, stats)
            let spinning = waitUntil { w.bits & BitLockBits.spinner != 0 }
            #expect(spinning, "the second waiter never spun")
            #expect(lot.parkedCount(key: w.key) == 1, "the second waiter parked instead of spinning")
            (self.lot, self.stats, self.w, self.policy, self.s, self.p) = (lot, stats, w, policy, s, p)
        }

        func unlockHolder() {
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        }
    }

    /// Holder H; P arrives and parks at once, S arrives and spins (the
    /// spinner bit appears). H's unlock does not enter the parking lot at all
    /// (no slow unlock counted a skipped wake) and S, not P, gets the lock;
    /// S's unlock (nobody spinning now) wakes P, which gets it next.
    @Test func anUnlockSkipsTheParkingLotWhileSomeoneSpins() {
        let scene = HolderSpinnerParked(Self.restricted(spin: Self.forGood))
        let (lot, stats, w, s, p) = (scene.lot, scene.stats, scene.w, scene.s, scene.p)
        #expect(w.bits & BitLockBits.parked != 0)
        scene.unlockHolder()
        #expect(waitUntil { s.owns.load(ordering: .acquiring) }, "the spinner did not get the lock")
        #expect(lot.parkedCount(key: w.key) == 1 && !p.owns.load(ordering: .acquiring), "the parked waiter was woken")
        #expect(stats.snapshot.skippedWakes == 0, "the unlock took the slow path although someone spun: \(stats.snapshot)")
        #expect(w.bits & BitLockBits.spinner == 0, "the spinner kept its bit after taking the lock")
        #expect(s.finish())
        #expect(waitUntil { p.owns.load(ordering: .acquiring) }, "the parked waiter was never woken")
        #expect(p.finish())
        #expect(w.bits & BitLockBits.all == 0, "bits left: \(String(w.bits, radix: 2))")
    }

    /// The spinner spins only while somebody sleeps: holder H, a waiter P
    /// that parks with a 500 ms timeout, a spinner S with a budget it would
    /// never exhaust. When P leaves the queue, S stops spinning (gives its
    /// bit up and parks), and H's unlock wakes it: it gets the lock.
    @Test func aSpinnerStopsWhenNobodySleeps() {
        let policy = Self.restricted(spin: Self.forGood)
        let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        final class Flag: Sendable { let value = Atomic<Bool>(false) }
        let pGaveUp = Flag()
        spawnThread {
            let got = HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, timeout: .milliseconds(500), statistics: stats)
            pGaveUp.value.store(!got, ordering: .releasing)
        }
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }, "the first waiter never parked")
        let s = Locker(w, lot, policy, stats)
        #expect(waitUntil { w.bits & BitLockBits.spinner != 0 }, "the second waiter never spun")
        #expect(waitUntil { pGaveUp.value.load(ordering: .acquiring) }, "the timed waiter did not time out")
        let stopped = waitUntil { w.bits & BitLockBits.spinner == 0 && lot.parkedCount(key: w.key) == 1 }
        #expect(stopped, "the spinner kept spinning with nobody asleep: \(String(w.bits, radix: 2))")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { s.owns.load(ordering: .acquiring) }, "the parked spinner was never woken")
        #expect(s.finish())
        #expect(w.bits & BitLockBits.all == 0, "bits left: \(String(w.bits, radix: 2))")
    }

    /// Holder H holds for long; S parks (the first waiter), P spins a short
    /// while and gives up (it parks, clearing the spinner bit while H holds
    /// the lock).
    /// H's unlock must then wake someone: both get the lock, long before
    /// the 60 s time bound could rescue them.
    @Test func aSpinnerThatGivesUpPassesTheWakeOn() {
        let policy = Self.restricted(spin: 64)
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let s = Locker(w, lot, policy, stats)
        let p = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 2 })
        #expect(w.bits & BitLockBits.spinner == 0, "a spinner gave up but kept its bit")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        // One of them gets the lock (woken as the spinner); then the other.
        #expect(waitUntil(seconds: 5) { s.owns.load(ordering: .acquiring) || p.owns.load(ordering: .acquiring) }, "a wake-up was lost")
        Self.finishInTurn(s, p)
        #expect(w.bits & BitLockBits.all == 0, "bits left: \(String(w.bits, radix: 2))")
    }

    /// The time bound overrides the spinner: holder H; a sleeper Q that is
    /// never due (so that the spinner never sees the queue empty); S spins
    /// for good (on a 60 s bound, so that its own clock never stops it); P
    /// parks with a 20 ms bound. Past it P's own clock makes it due (it
    /// leaves the queue and parks again, ahead of Q) and it asks for
    /// attention; H's unlock — which would otherwise skip the parking lot
    /// for S — hands P the lock.
    @Test func aDueWaiterIsHandedTheLockPastTheSpinner() {
        var policy = Self.restricted(spin: Self.forGood)
        policy.maxWait = .milliseconds(20)
        let scene = HolderSleeperSpinner(holding: policy, spinnerPolicy: Self.restricted(spin: Self.forGood))
        let (lot, stats, w, s) = (scene.lot, scene.stats, scene.w, scene.s)
        let p = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 2 }, "the third waiter never parked")
        // P is due and has asked for attention (after its clock fired).
        #expect(waitUntil { w.bits & BitLockBits.attention != 0 }, "the due waiter never asked for attention")
        #expect(w.bits & BitLockBits.spinner != 0, "the spinner gave up although Q sleeps")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let someone = waitUntil { p.owns.load(ordering: .acquiring) || s.owns.load(ordering: .acquiring) }
        #expect(someone)
        let pOwns = p.owns.load(ordering: .acquiring)
        #expect(pOwns, "the spinner got the lock past a due waiter")
        #expect(stats.snapshot.handoffs == 1, "\(stats.snapshot)")
        Self.finishInTurn(p, s)
        scene.finish()
    }

    /// The time bound holds for the spinner too: holder H; a sleeper Q that
    /// is never due (so the spinner is never told to stop for want of a
    /// sleeper); S spins with a budget it would never exhaust and a 200 ms
    /// bound. Past the bound S stops spinning and parks as due (ahead of
    /// Q), asking for attention, and H's unlock hands it the lock.
    /// (Before, a spinner's wait had no time bound at all: on the AMD host
    /// 4000 `pause`s with their yields took 4–7 ms at 8 threads.)
    @Test func aSpinnerPastTheBoundIsDue() {
        var policy = Self.restricted(spin: Self.forGood)
        // Long enough that the test sees the spinner bit before it goes.
        policy.maxWait = .milliseconds(200)
        let scene = HolderSleeperSpinner(holding: policy, spinnerPolicy: policy)
        let (lot, stats, w, q, s) = (scene.lot, scene.stats, scene.w, scene.q, scene.s)
        let due = waitUntil {
            lot.parkedCount(key: w.key) == 2 && w.bits & (BitLockBits.spinner | BitLockBits.attention) == BitLockBits.attention
        }
        #expect(due, "the spinner spun past its time bound: \(String(w.bits, radix: 2))")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { s.owns.load(ordering: .acquiring) }, "the due spinner was not handed the lock")
        #expect(stats.snapshot.handoffs == 1, "\(stats.snapshot)")
        let qWoke = q.woke.load(ordering: .acquiring)
        #expect(!qWoke, "the sleeper was woken before the due waiter")
        #expect(s.finish())
        scene.finish()
    }

    /// A waiter due by lost races queues ahead of an older waiter that is
    /// not due, so the next unlock hands it the lock (by first-park time
    /// alone it stood behind, the unlock woke the older one as the spinner,
    /// and that one left the free lock alone for the due one's sake).
    /// Policy: 1 lost race makes a waiter due, the clock never does (60 s).
    /// Holder H; P parks; S spins 64 `pause`s, gives up (a lost race: due)
    /// and parks due, asking for attention; H's unlock hands S the lock.
    @Test func aWaiterDueByRacesGoesAheadOfAnOlderOne() {
        let policy = HybridLockPolicy(spinLimit: 0, unfairness: 1, maxWait: .seconds(60), handoffSpin: 0, restrictSpin: 64)
        let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let p = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }, "the first waiter never parked")
        let s = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 2 && w.bits & BitLockBits.attention != 0 }, "the spinner never parked due")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { s.owns.load(ordering: .acquiring) || p.owns.load(ordering: .acquiring) })
        let sOwns = s.owns.load(ordering: .acquiring)
        #expect(sOwns, "the older waiter that was not due got the lock first: \(stats.snapshot)")
        #expect(stats.snapshot.handoffs == 1, "\(stats.snapshot)")
        Self.finishInTurn(s, p)
        #expect(waitUntil { w.bits & BitLockBits.all == 0 }, "bits left: \(String(w.bits, radix: 2))")
    }

    /// Two due waiters are served oldest first: holder H, a sleeper Q that
    /// is never due; P1 spins (Q sleeps) until its 100 ms bound and parks
    /// due; P2, which parked while P1 spun, becomes due by its own clock
    /// and parks due too. H's unlock hands P1 the lock (at the very front
    /// P2, the newer, stood first), P1's hands P2.
    @Test func dueWaitersAreServedOldestFirst() {
        var policy = Self.restricted(spin: Self.forGood)
        policy.maxWait = .milliseconds(100)
        let scene = HolderSleeperSpinner(holding: policy, spinnerPolicy: policy)
        let (lot, stats, w, p1) = (scene.lot, scene.stats, scene.w, scene.s)
        let p2 = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 2 }, "P2 never parked")
        // Parks: P2's first, P1's as due, P2's again as due.
        #expect(waitUntil { stats.snapshot.parks == 3 && lot.parkedCount(key: w.key) == 3 }, "\(stats.snapshot)")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { p1.owns.load(ordering: .acquiring) || p2.owns.load(ordering: .acquiring) })
        let p1First = p1.owns.load(ordering: .acquiring)
        #expect(p1First, "the newer due waiter was served first")
        Self.finishInTurn(p1, p2, "the second due waiter was never handed the lock")
        #expect(stats.snapshot.handoffs == 2, "\(stats.snapshot)")
        scene.finish()
    }

    /// An arrival that finds the lock held with a spinner parks, and stays
    /// parked even if the lock frees before its park validates: the spinner
    /// is committed to take the lock or pass the wake on, so a free lock
    /// with `spinner` set is no reason to barge (docs/fairness.md, "Where the
    /// restricted tail went": such arrivals kept ~5 of 8 threads runnable).
    /// Holder H; Q parks; the test plays the spinner (sets the bit); X holds
    /// the bucket lock in its own park validation, so that A — which finds
    /// the lock held with a spinner and goes to park — waits for the bucket
    /// lock between its decision and its validation; H unlocks (no slow
    /// path: somebody spins); X lets go. A must park, not take the free lock.
    @Test func anArrivalStaysParkedBehindASpinnerThoughTheLockFrees() {
        let policy = Self.restricted(spin: Self.forGood)
        let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let q = Locker(w, lot, policy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }, "the first waiter never parked")
        #expect(stats.snapshot.parks == 1)
        // The test is the spinner.
        w.word.bitwiseOr(BitLockBits.spinner, ordering: .relaxed)
        final class Gate: Sendable { let inside = Atomic<Bool>(false), hold = Atomic<Bool>(true) }
        let gate = Gate()
        spawnThread {
            // Same bucket (one in this lot), another key: never parks.
            _ = lot.park(key: w.key &+ 8, validate: {
                gate.inside.store(true, ordering: .releasing)
                while gate.hold.load(ordering: .acquiring) { usleep(100) }
                return false
            })
        }
        #expect(waitUntil { gate.inside.load(ordering: .acquiring) })
        let a = Locker(w, lot, policy, stats)
        // A counts its park just before it asks for the bucket lock.
        #expect(waitUntil { stats.snapshot.parks == 2 }, "the arrival did not go to park behind the spinner")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(w.bits & (BitLockBits.locked | BitLockBits.spinner | BitLockBits.parked) == BitLockBits.spinner | BitLockBits.parked)
        gate.hold.store(false, ordering: .releasing)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 2 || a.owns.load(ordering: .acquiring) })
        usleep(20_000)
        let aOwns = a.owns.load(ordering: .acquiring)
        #expect(!aOwns, "the arrival took the free lock past the spinner")
        #expect(lot.parkedCount(key: w.key) == 2)
        // The spinner takes the free lock and unlocks: the wake passes on.
        let s = w.word.load(ordering: .relaxed)
        let took = w.word.compareExchange(
            expected: s, desired: (s | BitLockBits.locked) & ~BitLockBits.spinner,
            successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
        #expect(took, "\(String(s, radix: 2))")
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(waitUntil { q.owns.load(ordering: .acquiring) || a.owns.load(ordering: .acquiring) }, "a wake-up was lost")
        Self.finishInTurn(q, a)
        #expect(w.bits & BitLockBits.all == 0, "bits left: \(String(w.bits, radix: 2))")
    }

    /// Under contention (8 threads on one lock, short critical sections,
    /// every 128th one sleeping 2 ms so that waiters pass the 1 ms bound):
    /// mutual exclusion, no lost wake-up (the run finishes), the time bound
    /// exercised (handoffs), no waiter past the bound woken to spin instead
    /// of being handed the lock, and the bits clear at the end.
    @Test func contendedRunsStayExclusiveAndBounded() {
        let boundNs: UInt64 = 1_000_000
        let threads = 8, iterations = stressIterations(10_000)
        let run = HybridContendedRun(policy: .restricted, threads: threads, iterations: iterations, sleepEvery: 128, sleepMicroseconds: 2_000)
        #expect(run.finished, "stuck")
        let s = run.statistics
        #expect(run.count == threads * iterations, "lost updates")
        #expect(run.bits & BitLockBits.all == 0, "bits left: \(String(run.bits, radix: 2))")
        #expect(s.handoffs > 0, "the bound never fired: \(s)")
        #expect(s.maxRetryWakeWaitNanoseconds < boundNs, "a waiter parked \(s.maxRetryWakeWaitNanoseconds) ns was woken to spin: \(s)")
        print("restricted: handoffs \(s.handoffs), parks \(s.parks), spin acquisitions \(s.spinAcquisitions), lost races \(s.lostRaces), longest wait \(s.maxWaitNanoseconds / 1_000) µs")
    }

    @Test func theRestrictedPresetIsWhatItSays() {
        let r = HybridLockPolicy.restricted
        #expect(r.isRestricted && r.restrictSpin == 1_000 && r.unfairness == 5 && r.maxWait == .milliseconds(1) && r.spinLimit == 0)
        var noBound = r
        noBound.maxWait = nil
        #expect(!noBound.isRestricted, "restriction without a time bound could park a waiter for good")
        var fifo = r
        fifo.unfairness = 0
        #expect(!fifo.isRestricted)
        #expect(!HybridLockPolicy.hybrid.isRestricted)
    }
}
