import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The page-level locks' suspending waits — `ReaderWriterLock.lockAsync`
/// (per-inode) and `RangeLock.lockAsync` (per-range): tasks park in the same
/// queues as threads, under the same rules, and a cancelled wait leaves no
/// trace.
@Suite struct AsyncPageLockTests {
    static func key(_ lock: AnyObject) -> UInt { UInt(bitPattern: Unmanaged.passUnretained(lock).toOpaque()) }

    /// `range` held exclusive by a thread of its own until `unlock()`.
    static func holdRange(_ lock: RangeLock, _ range: Range<UInt64>) -> LockHolderThread {
        let token = Box<RangeLock.Token?>(nil)
        return LockHolderThread(lock: { token.value = lock.lock(range, .exclusive) }, unlock: { token.value.map { lock.unlock($0) } })
    }

    /// A task waiting for a held rw lock is cancelled: `lockAsync` returns
    /// false, the task holds nothing, the `parked` bit is gone with the last
    /// waiter (else new readers would stay out), and the lock works on.
    @Test(arguments: [LockMode.shared, .exclusive])
    func aCancelledRWWaitLeavesNoTrace(_ mode: LockMode) async {
        let lot = ParkingLot(bucketCount: 1)
        let rw = ReaderWriterLock(lot: lot, policy: .hybrid)
        // Held by a thread (a task may resume elsewhere: LockHolderThread).
        let holder = LockHolderThread(lock: { rw.lock(.exclusive) }, unlock: { rw.unlock(.exclusive) })
        let waiter = Task { await rw.lockAsync(mode) }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 1 }, "\(mode)")
        #expect(rw.hasParkedBit)
        waiter.cancel()
        #expect(await waiter.value == false, "\(mode): a cancelled waiter reported the lock")
        #expect(lot.parkedCount(key: Self.key(rw)) == 0)
        #expect(!rw.hasParkedBit, "\(mode): parked bit left set")
        holder.unlock()
        #expect(!rw.isLocked)
        // A reader that never waited gets in (a stale parked bit stops it).
        #expect(rw.tryLock(.shared))
        rw.unlock(.shared)
        #expect(await rw.lockAsync(.exclusive))
        rw.unlock(.exclusive)
    }

    /// With a second waiter queued behind it, a cancelled task leaves the
    /// `parked` bit for that waiter, which gets the lock at the release.
    @Test func aCancelledRWWaitKeepsTheOthersWaiting() async {
        let lot = ParkingLot(bucketCount: 1)
        let rw = ReaderWriterLock(lot: lot, policy: .hybrid)
        let holder = LockHolderThread(lock: { rw.lock(.exclusive) }, unlock: { rw.unlock(.exclusive) })
        let cancelled = Task { await rw.lockAsync(.exclusive) }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 1 })
        let otherGot = Atomic<Bool>(false)
        let other = Task { () -> Bool in
            guard await rw.lockAsync(.shared) else { return false }
            otherGot.store(true, ordering: .releasing)
            rw.unlock(.shared)
            return true
        }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 2 })
        cancelled.cancel()
        #expect(await cancelled.value == false)
        #expect(rw.hasParkedBit, "the remaining waiter's parked bit was cleared")
        holder.unlock()
        // (Polled, so that a lost wake-up fails the test instead of hanging it.)
        #expect(await eventually(seconds: 5) { otherGot.load(ordering: .acquiring) }, "the waiter behind the cancelled one never got the lock")
        if otherGot.load(ordering: .acquiring) { #expect(await other.value) }
        #expect(await eventually { !rw.isLocked && !rw.hasParkedBit })
    }

    /// Strict FIFO (`.fair`) hands the rw lock to a parked writer task (it
    /// owns the lock when it resumes), then to the run of reader tasks and
    /// threads queued behind it, together.
    @Test func aHandoffToAParkedRWTaskIsAHandoff() async {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let rw = ReaderWriterLock(lot: lot, policy: .fair, statistics: stats)
        let holder = LockHolderThread(lock: { rw.lock(.shared) }, unlock: { rw.unlock(.shared) })
        let order = EventLog<String>()
        let readersIn = Atomic<Int>(0)
        let maxReadersIn = Atomic<Int>(0)
        let writer = Task { () -> Bool in
            let ok = await rw.lockAsync(.exclusive)
            order.append("writer")
            usleep(20_000)
            rw.unlock(.exclusive)
            return ok
        }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 1 })
        // A reader's stay (holding the lock shared): counted, so that the
        // two readers are seen inside together.
        let readerInside: @Sendable (String) -> Void = { who in
            let n = readersIn.add(1, ordering: .relaxed).newValue
            maxReadersIn.max(n, ordering: .relaxed)
            order.append(who)
            usleep(20_000)
            readersIn.subtract(1, ordering: .relaxed)
        }
        let reader = Task { () -> Bool in
            let ok = await rw.lockAsync(.shared)
            readerInside("reader task")
            rw.unlock(.shared)
            return ok
        }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 2 })
        spawnThread {
            rw.lock(.shared)
            readerInside("reader thread")
            rw.unlock(.shared)
        }
        #expect(await eventually { lot.parkedCount(key: Self.key(rw)) == 3 })
        holder.unlock()
        #expect(await writer.value)
        #expect(await reader.value)
        #expect(await eventually { order.events.count == 3 })
        #expect(order.events.first == "writer", "\(order.events)")
        #expect(maxReadersIn.load(ordering: .relaxed) == 2, "the two readers were not let in together")
        #expect(stats.snapshot.handoffs >= 3, "handoffs \(stats.snapshot.handoffs)")
        #expect(await eventually { !rw.isLocked && !rw.hasParkedBit })
    }

    /// Threads and tasks take one rw lock shared and exclusive, some tasks
    /// cancelled at random while they wait: a writer is alone, readers never
    /// overlap a writer, every acquisition is counted, nothing is left
    /// parked, and the hybrid's lost-race bound holds for both.
    @Test(arguments: [HybridLockPolicy.hybrid, .fair, .barging])
    func rwTasksAndThreadsRaceWithCancellation(_ policy: HybridLockPolicy) async {
        let seed = testSeed()
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let rw = ReaderWriterLock(lot: lot, policy: policy, statistics: stats)
        let state = Atomic<Int>(0)  // -1 a writer, n > 0 readers
        let violations = Atomic<Int>(0)
        let acquired = Atomic<Int>(0)
        let counter = UnprotectedCounter()
        let critical: @Sendable (LockMode) -> Void = { mode in
            if mode == .exclusive {
                if !state.compareExchange(expected: 0, desired: -1, ordering: .acquiringAndReleasing).exchanged {
                    violations.add(1, ordering: .relaxed)
                }
                counter.value += 1
                for _ in 0..<200 { spinHint() }
                state.store(0, ordering: .releasing)
            } else {
                if state.add(1, ordering: .acquiringAndReleasing).oldValue < 0 { violations.add(1, ordering: .relaxed) }
                for _ in 0..<100 { spinHint() }
                state.subtract(1, ordering: .acquiringAndReleasing)
            }
            acquired.add(1, ordering: .relaxed)
        }
        let threadsStopped = await raceThreadsAndCancelledTasks(
            seed: seed, iterations: stressIterations(400),
            threadStep: { rng in
                let mode: LockMode = rng.next() % 3 == 0 ? .exclusive : .shared
                rw.lock(mode)
                critical(mode)
                rw.unlock(mode)
            },
            attempt: { rng in
                let mode: LockMode = rng.next() % 2 == 0 ? .exclusive : .shared
                return {
                    guard await rw.lockAsync(mode) else { return }
                    critical(mode)
                    rw.unlock(mode)
                }
            })
        #expect(threadsStopped, "\(policy) seed \(seed): threads stuck")
        #expect(violations.load(ordering: .relaxed) == 0, "\(policy) seed \(seed): exclusion violated")
        #expect(lot.parkedCount(key: Self.key(rw)) == 0)
        #expect(!rw.isLocked && !rw.hasParkedBit, "\(policy) seed \(seed): lock left held or parked")
        if policy.unfairness > 0 {
            #expect(stats.snapshot.maxLostRaces <= policy.unfairness, "\(policy) seed \(seed): \(stats.snapshot.maxLostRaces) lost races")
        }
        print("AsyncPageLockTests rw \(policy) seed \(seed): \(acquired.load(ordering: .relaxed)) acquisitions, \(counter.value) exclusive, parks \(stats.snapshot.parks), handoffs \(stats.snapshot.handoffs), cancelled waits \(stats.snapshot.timeouts), max lost races \(stats.snapshot.maxLostRaces)")
    }

    /// A task asking for a range overlapping a held exclusive one waits
    /// (suspended) and gets it at the release; one asking for a disjoint
    /// range does not wait.
    @Test func aRangeTaskWaitsOnlyForAnOverlap() async {
        let stats = LockStatistics()
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1), statistics: stats)
        let parks = { stats.snapshot.parks }
        let holder = Self.holdRange(lock, 10..<20)
        let disjoint = await lock.lockAsync(20..<30, .exclusive)
        #expect(disjoint != nil)
        if let disjoint { lock.unlock(disjoint) }
        let got = Atomic<Bool>(false)
        let waiter = Task { () -> Bool in
            guard let t = await lock.lockAsync(15..<25, .shared) else { return false }
            got.store(true, ordering: .releasing)
            lock.unlock(t)
            return true
        }
        #expect(await eventually { parks() == 1 }, "the overlapping task did not park")
        try? await Task.sleep(for: .milliseconds(20))
        let early = got.load(ordering: .acquiring)
        #expect(!early, "the overlapping task got the range while it was held")
        holder.unlock()
        #expect(await waiter.value)
        #expect(lock.outstandingCount == 0)
    }

    /// A cancelled range wait returns nil and leaves the list as a release
    /// does: a request queued behind it (which counted it) is granted when
    /// the holder releases, not blocked by the cancelled node.
    @Test(arguments: [LockMode.shared, .exclusive])
    func aCancelledRangeWaitBlocksNobody(_ mode: LockMode) async {
        let stats = LockStatistics()
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1), statistics: stats)
        let parks = { stats.snapshot.parks }
        let holder = Self.holdRange(lock, 0..<8)
        let cancelled = Task { await lock.lockAsync(4..<12, .exclusive) }
        #expect(await eventually { parks() == 1 })
        // Behind it: overlaps the cancelled request, not the held range
        // (so it waits only for the cancelled one).
        let behindGot = Atomic<Bool>(false)
        let behind = Task { () -> Bool in
            guard let t = await lock.lockAsync(10..<16, mode) else { return false }
            behindGot.store(true, ordering: .releasing)
            lock.unlock(t)
            return true
        }
        #expect(await eventually { parks() == 2 })
        cancelled.cancel()
        let token = await cancelled.value
        #expect(token == nil, "a cancelled range wait reported the range")
        if let token { lock.unlock(token) }
        // (Polled, so that a request left blocked fails the test instead of
        // hanging it.)
        #expect(await eventually(seconds: 5) { behindGot.load(ordering: .acquiring) }, "the request behind the cancelled one was not granted")
        if behindGot.load(ordering: .acquiring) { #expect(await behind.value) }
        holder.unlock()
        #expect(await eventually { lock.outstandingCount == 0 })
    }

    /// Arrival order among overlapping ranges holds for tasks and threads
    /// together: a thread that asks after a waiting task gets the range after
    /// it.
    @Test func rangeArrivalOrderHoldsAcrossTasksAndThreads() async {
        let stats = LockStatistics()
        let lock = RangeLock(lot: ParkingLot(bucketCount: 1), statistics: stats)
        let parks = { stats.snapshot.parks }
        let holder = Self.holdRange(lock, 0..<4)
        let order = EventLog<String>()
        let task = Task { () -> Bool in
            guard let t = await lock.lockAsync(2..<6, .exclusive) else { return false }
            order.append("task")
            usleep(10_000)
            lock.unlock(t)
            return true
        }
        #expect(await eventually { parks() == 1 })
        spawnThread {
            let t = lock.lock(3..<5, .exclusive)
            order.append("thread")
            lock.unlock(t)
        }
        #expect(await eventually { parks() == 2 })
        holder.unlock()
        #expect(await task.value)
        #expect(await eventually { order.events.count == 2 })
        #expect(order.events == ["task", "thread"])
    }

    /// Threads and tasks take random overlapping ranges in both modes, some
    /// tasks cancelled while they wait: no position is held in conflict,
    /// and nothing is left outstanding.
    @Test func rangeTasksAndThreadsRaceWithCancellation() async {
        let seed = testSeed()
        let stats = LockStatistics()
        let lock = RangeLock(lot: ParkingLot(bucketCount: 4), statistics: stats)
        let occ = Occupancy(40)
        let violations = Atomic<Int>(0)
        let use: @Sendable (Range<Int>, LockMode) -> Void = { r, mode in
            if !occ.enter(r, mode) { violations.add(1, ordering: .relaxed) }
            for _ in 0..<100 { spinHint() }
            occ.leave(r, mode)
        }
        let randomRange: @Sendable (inout SplitMix64) -> (Range<Int>, LockMode) = { rng in
            let lo = Int(rng.next() % 36), hi = lo + 1 + Int(rng.next() % 4)
            return (lo..<hi, rng.next() % 3 == 0 ? .shared : .exclusive)
        }
        let threadsStopped = await raceThreadsAndCancelledTasks(
            seed: seed, iterations: stressIterations(400),
            threadStep: { rng in
                let (r, mode) = randomRange(&rng)
                let token = lock.lock(UInt64(r.lowerBound)..<UInt64(r.upperBound), mode)
                use(r, mode)
                lock.unlock(token)
            },
            attempt: { rng in
                let (r, mode) = randomRange(&rng)
                return {
                    guard let token = await lock.lockAsync(UInt64(r.lowerBound)..<UInt64(r.upperBound), mode) else { return }
                    use(r, mode)
                    lock.unlock(token)
                }
            })
        #expect(threadsStopped, "seed \(seed): threads stuck")
        #expect(violations.load(ordering: .relaxed) == 0, "seed \(seed): conflicting ranges held at once")
        #expect(lock.outstandingCount == 0, "seed \(seed): requests left outstanding")
        print("AsyncPageLockTests range seed \(seed): parks \(stats.snapshot.parks), handoffs \(stats.snapshot.handoffs), cancelled waits \(stats.snapshot.timeouts)")
    }
}
