import CFolioShims

extension ReaderWriterLock {
    /// Takes the lock in `mode`, suspending the calling task (not blocking
    /// its thread) while it is held: `lockSlow`'s turns (`slowStep`) with the waiter
    /// parked as a task (`ParkingLot.parkAsync`) in the same queue as parked
    /// threads, so the policy's bounds hold for tasks and threads alike — a
    /// due waiter (a writer, or the run of readers at the head) is granted
    /// the lock under the bucket lock whether it is a thread or a task, and a
    /// task's lost races count the same. A task does not spin after parking;
    /// the optimistic spin before the first park (`spinLimit`) runs on the
    /// caller's thread as for threads.
    ///
    /// Returns false only if the task was cancelled — while parked, or before
    /// it parks (again, after a wake-up to retry: `parkAsync` reports the
    /// cancellation then): it then holds nothing, and clears `parked` if it was the last waiter (a stale
    /// `parked` bit would keep new readers out). A task granted the lock
    /// before its cancellation took effect keeps it and returns true.
    ///
    /// With `DebugLocks` the hold is reported to the checker as a trylock
    /// (held, unordered): the task may resume on another thread than the one
    /// it parked on. Release it before the task's next suspension.
    public func lockAsync(_ mode: LockMode) async -> Bool {
        if rawTryLock(mode) {
            acquiredAsync(mode)
            return true
        }
        var acquisition = SlowAcquisition(mode: mode)
        while true {
            switch slowStep(&acquisition) {
            case .acquired:
                acquiredAsync(mode)
                return true
            case .again:
                continue
            case .park(let token, let atFront):
                switch await lot.parkAsync(key: key, token: token, atFront: atFront, validate: { self.mayPark() }) {
                case .unparked(let token) where token == .handoff:
                    acquisition.acquired(statistics)
                    acquiredAsync(mode)
                    return true
                case .unparked:
                    acquisition.woken = true
                case .invalid:
                    // A woken waiter is about to take it: let it run (a task
                    // yields its thread by suspending, not by sched_yield).
                    if freeWithParkedBit { await Task.yield() }
                case .cancelled:
                    lot.afterCancellation(key: key) { nobodyLeft in
                        if nobodyLeft { self.word.bitwiseAnd(~Self.parked, ordering: .relaxed) }
                    }
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
            }
        }
    }

    /// The checker's record of a hold taken by `lockAsync`.
    @inline(__always) func acquiredAsync(_ mode: LockMode) {
        #if DebugLocks
        LockDep.acquired(lockClass, instance: key, mode: mode, site: LockSite(), isTry: true)
        #endif
    }
}
