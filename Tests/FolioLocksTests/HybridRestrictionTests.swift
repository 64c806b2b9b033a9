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
        let first = s.owns.load(ordering: .acquiring) ? s : p
        let second = first === s ? p : s
        #expect(first.finish())
        #expect(waitUntil(seconds: 5) { second.owns.load(ordering: .acquiring) }, "a wake-up was lost")
        #expect(second.finish())
        #expect(w.bits & BitLockBits.all == 0, "bits left: \(String(w.bits, radix: 2))")
    }

    /// The time bound overrides the spinner: holder H; Q parks first with a
    /// 60 s bound (a sleeper that stays asleep, so that the spinner never
    /// sees the queue empty); S spins for good; P parks with a 20 ms bound.
    /// Past it P's own clock makes it due (it leaves the queue and parks
    /// again at the front) and it asks for attention; H's unlock — which
    /// would otherwise skip the parking lot for S — hands P the lock.
    @Test func aDueWaiterIsHandedTheLockPastTheSpinner() {
        var policy = Self.restricted(spin: Self.forGood)
        policy.maxWait = .milliseconds(20)
        let sleeperPolicy = Self.restricted(spin: Self.forGood)
        let lot = ParkingLot(bucketCount: 1), stats = LockStatistics(), w = TestWord()
        HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        let q = Locker(w, lot, sleeperPolicy, stats)
        #expect(waitUntil { lot.parkedCount(key: w.key) == 1 }, "the first waiter never parked")
        let s = Locker(w, lot, policy, stats)
        #expect(waitUntil { w.bits & BitLockBits.spinner != 0 }, "the second waiter never spun")
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
        #expect(p.finish())
        #expect(waitUntil { s.owns.load(ordering: .acquiring) })
        #expect(s.finish())
        #expect(waitUntil { q.owns.load(ordering: .acquiring) }, "the sleeper was never woken")
        #expect(q.finish())
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
