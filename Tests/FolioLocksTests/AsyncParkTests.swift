import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension BitFlavour {
    func lockAsync(_ w: TestWord, _ lot: ParkingLot, _ stats: LockStatistics? = nil) async -> Bool {
        switch self {
        case .plain: await BitLock.lockAsync(w.word, key: w.key, lot: lot, statistics: stats)
        case .hybrid(let p): await HybridLock.lockAsync(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
        }
    }
}

/// Tasks parked in the parking lot (`parkAsync`, `lockAsync`): the same
/// queues and rules as threads, and cancellation.
@Suite struct AsyncParkTests {
    static let flavours: [BitFlavour] = [.plain, .hybrid(.hybrid), .hybrid(.fair), .hybrid(.barging), .hybrid(.kernel), .hybrid(.restricted)]

    /// Threads and tasks parked on one key in turn are unparked in that
    /// order, each with the token its unparker chose.
    @Test func threadsAndTasksShareOneFIFOQueue() async {
        let lot = ParkingLot(bucketCount: 1)
        let log = EventLog<(who: Int, token: UInt64)>()
        var tasks: [Task<Void, Never>] = []
        for i in 0..<6 {
            if i % 2 == 0 {
                spawnThread {
                    if case .unparked(let t) = lot.park(key: 9, validate: { true }) { log.append((i, t.rawValue)) }
                }
            } else {
                tasks.append(Task {
                    if case .unparked(let t) = await lot.parkAsync(key: 9, validate: { true }) { log.append((i, t.rawValue)) }
                })
            }
            #expect(await eventually { lot.parkedCount(key: 9) == i + 1 })
        }
        for k in 0..<6 {
            let r = lot.unparkOne(key: 9) { _ in UnparkToken(rawValue: UInt64(100 + k)) }
            #expect(r.unparkedThreads == 1)
            // One at a time, so that the log's order is the unpark order.
            #expect(await eventually { log.events.count == k + 1 })
        }
        for t in tasks { await t.value }
        #expect(log.events.map(\.who) == Array(0..<6))
        #expect(log.events.map(\.token) == (0..<6).map { UInt64(100 + $0) })
    }

    @Test func validateFalseNeverQueuesATask() async {
        let lot = ParkingLot(bucketCount: 1)
        #expect(await lot.parkAsync(key: 3, validate: { false }) == .invalid)
        #expect(lot.parkedCount(key: 3) == 0)
    }

    /// A cancelled task leaves the queue (`.cancelled`), the others stay in
    /// order; a task cancelled before it parks never queues.
    @Test func cancellationRemovesExactlyThatTask() async {
        let lot = ParkingLot(bucketCount: 1)
        let a = Task { await lot.parkAsync(key: 5, validate: { true }) }
        #expect(await eventually { lot.parkedCount(key: 5) == 1 })
        let b = Task { await lot.parkAsync(key: 5, validate: { true }) }
        #expect(await eventually { lot.parkedCount(key: 5) == 2 })
        a.cancel()
        #expect(await a.value == .cancelled)
        #expect(lot.parkedCount(key: 5) == 1)
        var nobodyLeft: Bool? = nil
        lot.afterCancellation(key: 5) { nobodyLeft = $0 }
        #expect(nobodyLeft == false)
        lot.unparkOne(key: 5) { _ in .handoff }
        #expect(await b.value == .unparked(.handoff))
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await lot.parkAsync(key: 5, validate: { true })
        }
        #expect(await early.value == .cancelled)
        #expect(lot.parkedCount(key: 5) == 0)
    }

    /// A task waiting for a held lock is cancelled: `lockAsync` returns
    /// false, the task holds nothing, the `parked` bit is gone with the last
    /// waiter, and the lock works on (an unlock finds nobody to wake).
    @Test(arguments: flavours)
    func aCancelledLockWaitLeavesNoTrace(_ flavour: BitFlavour) async {
        let lot = ParkingLot(bucketCount: 1)
        let w = TestWord()
        let first = flavour.tryLock(w, lot)
        #expect(first)
        let waiter = Task { await flavour.lockAsync(w, lot) }
        #expect(await eventually { lot.parkedCount(key: w.key) == 1 }, "\(flavour)")
        #expect(w.bits & BitLockBits.mask == BitLockBits.mask)
        waiter.cancel()
        #expect(await waiter.value == false, "\(flavour): a cancelled waiter reported the lock")
        #expect(lot.parkedCount(key: w.key) == 0)
        #expect(w.bits & BitLockBits.mask == BitLockBits.locked, "\(flavour): parked bit left set (\(w.bits))")
        flavour.unlock(w, lot)
        #expect(w.bits & BitLockBits.mask == 0)
        #expect(await flavour.lockAsync(w, lot))
        flavour.unlock(w, lot)
    }

    /// Strict FIFO hands the lock to a parked task: it owns the lock when it
    /// resumes (the unlocker kept the bit set for it), and a thread parked
    /// behind it gets the lock only after the task's unlock.
    @Test func aHandoffToAParkedTaskIsAHandoff() async {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        let policy = HybridLockPolicy.fair
        let first = HybridLock.tryLock(w.word, key: w.key, lot: lot, policy: policy)
        #expect(first)
        let order = EventLog<String>()
        let task = Task {
            let ok = await HybridLock.lockAsync(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            order.append("task")
            usleep(20_000)
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            return ok
        }
        #expect(await eventually { lot.parkedCount(key: w.key) == 1 })
        spawnThread {
            HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
            order.append("thread")
            HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        }
        #expect(await eventually { lot.parkedCount(key: w.key) == 2 })
        HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
        #expect(await task.value)
        #expect(await eventually { order.events.count == 2 })
        #expect(order.events == ["task", "thread"])
        #expect(stats.snapshot.handoffs >= 2, "handoffs \(stats.snapshot.handoffs)")
    }

    /// Threads and tasks race for one lock, some tasks cancelled at random
    /// while they wait: mutual exclusion holds, every successful
    /// acquisition is counted once, nobody is left parked, and the hybrid's
    /// lost-race bound holds for tasks and threads alike.
    @Test(arguments: flavours)
    func tasksAndThreadsRaceWithCancellation(_ flavour: BitFlavour) async {
        let seed = testSeed()
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        let counter = UnprotectedCounter()
        let inside = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)
        let acquired = Atomic<Int>(0)
        let iterations = stressIterations(400)
        let critical: @Sendable () -> Void = {
            if inside.add(1, ordering: .acquiringAndReleasing).newValue != 1 { overlaps.add(1, ordering: .relaxed) }
            counter.value += 1
            // Hold it a little, so that others find it held and park.
            for _ in 0..<200 { spinHint() }
            acquired.add(1, ordering: .relaxed)
            inside.subtract(1, ordering: .acquiringAndReleasing)
        }
        let threadsStopped = await raceThreadsAndCancelledTasks(
            seed: seed, iterations: iterations,
            threadStep: { _ in
                flavour.lock(w, lot, stats)
                critical()
                flavour.unlock(w, lot, stats)
            },
            attempt: { _ in
                {
                    guard await flavour.lockAsync(w, lot, stats) else { return }
                    critical()
                    flavour.unlock(w, lot, stats)
                }
            })
        #expect(threadsStopped, "\(flavour) seed \(seed): threads stuck")
        #expect(overlaps.load(ordering: .relaxed) == 0, "\(flavour) seed \(seed): two holders at once")
        #expect(counter.value == acquired.load(ordering: .relaxed), "\(flavour) seed \(seed): lost updates")
        #expect(lot.parkedCount(key: w.key) == 0)
        #expect(w.bits & BitLockBits.mask == 0, "\(flavour) seed \(seed): word left at \(w.bits)")
        if case .hybrid(let p) = flavour, p.unfairness > 0 {
            #expect(stats.snapshot.maxLostRaces <= p.unfairness, "\(flavour) seed \(seed): \(stats.snapshot.maxLostRaces) lost races")
        }
        print("AsyncParkTests \(flavour) seed \(seed): \(acquired.load(ordering: .relaxed)) acquisitions, parks \(stats.snapshot.parks), handoffs \(stats.snapshot.handoffs), cancelled waits \(stats.snapshot.timeouts), max lost races \(stats.snapshot.maxLostRaces)")
    }
}

@inline(never) func spinHint() { _ = getpid() }
