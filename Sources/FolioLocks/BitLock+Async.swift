import Synchronization

extension BitLock {
    /// Takes the lock, suspending the calling task (not blocking its thread)
    /// while it is held: the same protocol as `lock`, with the waiter parked
    /// as a task (`ParkingLot.parkAsync`). Returns false only if the task was
    /// cancelled while it waited (then it does not hold the lock); a task
    /// woken to retry and cancelled meanwhile stops at its next park.
    ///
    /// `word` must stay alive until this returns (a folio: pinned).
    public static func lockAsync(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, statistics: LockStatistics? = nil) async -> Bool {
        if tryLock(word) { return true }
        let start = MonotonicClock.nanoseconds()
        var lost: UInt64 = 0
        var woken = false
        while true {
            let s = word.load(ordering: .relaxed)
            if s & BitLockBits.locked == 0 {
                if takeFreeBit(word, s) {
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
            if !markParked(word, s) { continue }
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = await lot.parkAsync(
                key: key,
                validate: { heldWithWaiters(word) })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return true
            case .unparked:
                woken = true
            case .invalid:
                break
            case .cancelled:
                lot.afterCancellation(key: key) { nobodyLeft in
                    if nobodyLeft { word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed) }
                }
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
        }
    }
}
