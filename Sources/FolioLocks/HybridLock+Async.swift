import CFolioShims
import Synchronization

extension HybridLock {
    /// Takes the lock, suspending the calling task (not blocking its thread)
    /// while it is held: `lockSlow`'s protocol with the waiter parked as a
    /// task (`ParkingLot.parkAsync`), so the hybrid's bounds hold for tasks
    /// and threads alike — a due waiter is handed the lock whether it is a
    /// thread or a task, and a task's lost races count the same.
    ///
    /// Differences from the thread form: a task never spins after parking,
    /// so its park token says "spins before sleep" — a due task is handed
    /// the lock directly, never woken ahead (`handoffSpin`): resuming a
    /// continuation is the wake-up. The policy's optimistic spin before the
    /// first park (`spinLimit`, bounded) runs on the caller's thread as it
    /// does for threads.
    ///
    /// Returns false only if the task was cancelled while parked (it then
    /// does not hold the lock, and passes on any wake-up it was carrying);
    /// a task handed the lock before its cancellation took effect keeps it
    /// and returns true. `word` must stay alive until this returns.
    public static func lockAsync(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics? = nil) async -> Bool {
        if tryLock(word, key: key, lot: lot, policy: policy, statistics: statistics) { return true }
        let start = MonotonicClock.nanoseconds()
        var lost: UInt64 = 0
        var woken = false
        var spins = 0
        var firstPark: UInt64 = 0
        var awake = false
        let restricted = policy.isRestricted
        while true {
            let s = word.load(ordering: .relaxed)
            if s & BitLockBits.locked == 0 {
                if BitLock.takeFreeBit(word, s) {
                    if awake {
                        lot.clearAwakeMark(key)
                        awake = false
                    }
                    if policy.unfairness == 0 && s & BitLockBits.parked != 0
                        && yieldToQueue(word, key: key, lot: lot, statistics: statistics) {
                        // Strict FIFO: the free bit was a parked waiter's.
                        continue
                    }
                    if firstPark == 0 && spins > 0 { statistics?.spinAcquisitions.wrappingAdd(1, ordering: .relaxed) }
                    statistics?.recordAcquired(lostRaces: lost, since: start)
                    return true
                }
                continue
            }
            if woken {
                lost += 1
                woken = false
                statistics?.lostRaces.wrappingAdd(1, ordering: .relaxed)
            }
            // Bounded optimistic spin before the first park, only while
            // nobody is parked (no spinner cap for tasks: they are few — the
            // pool's threads — and the spin is bounded). Under restriction
            // tasks never spin.
            if !restricted && firstPark == 0 && spins < policy.spinLimit && s & BitLockBits.parked == 0 {
                spins += 1
                folio_cpu_relax()
                continue
            }
            if !BitLock.markParked(word, s) { continue }
            if firstPark == 0 { firstPark = MonotonicClock.nanoseconds() }
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = await lot.parkAsync(
                key: key,
                token: ParkToken(lostRaces: lost, firstPark: firstPark, spinsBeforeSleep: true,
                                 attention: restricted, isTask: true),
                atFront: lost > 0 && policy.requeueAtFront,
                validate: {
                    if awake {
                        lot.clearAwakeMarkLocked(key)
                        awake = false
                    }
                    // Under restriction a parked task asks every unlock to
                    // look at the queue (it cannot spin, so it must be woken).
                    return restricted ? askForAttention(word) : BitLock.heldWithWaiters(word)
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return true
            case .unparked(let token):
                woken = token.rawValue & aheadBit == 0
                awake = token.rawValue & awakeBit != 0
            case .invalid:
                break
            case .cancelled:
                // As a thread's timeout: give up the awake mark if this
                // task carried it (cancelled before its validate ran), drop
                // the parked bit if nobody is left, and pass on a wake-up
                // an unlock may have skipped for us: a free bit with
                // waiters left needs someone to wake them.
                if awake { lot.clearAwakeMark(key) }
                lot.afterCancellation(key: key) { nobodyLeft in
                    if nobodyLeft { word.bitwiseAnd(~(BitLockBits.parked | BitLockBits.attention), ordering: .relaxed) }
                }
                if word.load(ordering: .relaxed) & BitLockBits.mask == BitLockBits.parked {
                    unlockSlow(word, key: key, lot: lot, policy: policy, statistics: statistics)
                }
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
        }
    }
}
