import CFolioShims

extension ReaderWriterLock {
    /// Takes the lock in `mode`, suspending the calling task (not blocking
    /// its thread) while it is held: `lockSlow`'s protocol with the waiter
    /// parked as a task (`ParkingLot.parkAsync`) in the same queue as parked
    /// threads, so the policy's bounds hold for tasks and threads alike — a
    /// due waiter (a writer, or the run of readers at the head) is granted
    /// the lock under the bucket lock whether it is a thread or a task, and a
    /// task's lost races count the same. A task does not spin after parking;
    /// the optimistic spin before the first park (`spinLimit`) runs on the
    /// caller's thread as for threads.
    ///
    /// Returns false only if the task was cancelled while parked: it then
    /// holds nothing, and clears `parked` if it was the last waiter (a stale
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
        let start = MonotonicClock.nanoseconds()
        var lost: UInt64 = 0
        var woken = false
        var spins = 0
        var firstPark: UInt64 = 0
        let modeBit: UInt64 = mode == .exclusive ? 1 : 0
        while true {
            let s = word.load(ordering: .relaxed)
            if Self.canTake(mode, s, woken: woken || lost > 0) {
                let (ok, _) = word.weakCompareExchange(
                    expected: s, desired: Self.taken(mode, s),
                    successOrdering: .acquiring, failureOrdering: .relaxed)
                if ok {
                    statistics?.recordAcquired(lostRaces: lost, since: start)
                    acquiredAsync(mode)
                    return true
                }
                continue
            }
            if woken {
                lost += 1
                woken = false
                statistics?.lostRaces.wrappingAdd(1, ordering: .relaxed)
            }
            if firstPark == 0 && spins < policy.spinLimit && s & Self.parked == 0 {
                spins += 1
                folio_cpu_relax()
                continue
            }
            if s & Self.parked == 0 {
                let (ok, _) = word.weakCompareExchange(
                    expected: s, desired: s | Self.parked,
                    successOrdering: .relaxed, failureOrdering: .relaxed)
                if !ok { continue }
            }
            if firstPark == 0 { firstPark = MonotonicClock.nanoseconds() }
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = await lot.parkAsync(
                key: key,
                token: ParkToken(bits: lost << 1 | modeBit, timestamp: firstPark),
                atFront: lost > 0 && policy.requeueAtFront,
                // As `lockSlow`: park only while the lock is held and
                // `parked` is set.
                validate: {
                    let v = self.word.load(ordering: .relaxed)
                    return v & Self.parked != 0 && (v & Self.writer != 0 || v >> 2 != 0)
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                acquiredAsync(mode)
                return true
            case .unparked:
                woken = true
            case .invalid:
                // Free with `parked` still set: a woken waiter is about to
                // take it. Let it run (a task yields its thread by
                // suspending, not by sched_yield).
                let v = word.load(ordering: .relaxed)
                if v & Self.parked != 0 && v & Self.writer == 0 && v >> 2 == 0 { await Task.yield() }
            case .cancelled:
                lot.afterCancellation(key: key) { nobodyLeft in
                    if nobodyLeft { self.word.bitwiseAnd(~Self.parked, ordering: .relaxed) }
                }
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
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
