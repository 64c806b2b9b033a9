import CFolioShims

extension RangeLock {
    /// Acquires `range` in `mode`, suspending the calling task (not blocking
    /// its thread) behind every earlier conflicting request: `lock`'s
    /// protocol — the fast path, else a node in the arrival-ordered list —
    /// with the waiter parked as a task on its node (`ParkingLot.parkAsync`).
    /// Arrival order among overlapping ranges holds for tasks and threads
    /// together: a task's node is counted by later requests exactly as a
    /// thread's is.
    ///
    /// Returns nil only if the task was cancelled while it waited: its node
    /// then leaves the list exactly as a timed-out wait's does (later
    /// requests that counted it stop counting it), so it blocks nobody. A
    /// request granted before its cancellation took effect keeps the range.
    ///
    /// With `DebugLocks` the hold is reported to the checker as a trylock
    /// (held, unordered): the task may resume on another thread. Release it
    /// before the task's next suspension.
    public func lockAsync(_ range: Range<UInt64>, _ mode: LockMode) async -> Token? {
        if let slot = fastLock(range.lowerBound, range.upperBound, mode) {
            acquiredAsync(UInt(bitPattern: slot), range, mode)
            return Token(slot: slot, range: range, mode: mode)
        }
        let node = enqueue(range, mode, onlyIfFree: false).unsafelyUnwrapped
        guard await waitUntilGrantedAsync(node) else {
            // Leaving the queue is a release (as a timed-out `lock`'s).
            release(node)
            return nil
        }
        acquiredAsync(UInt(bitPattern: node), range, mode)
        return Token(node: node)
    }

    /// `waitUntilGranted` with the waiter parked as a task: false if it was
    /// cancelled while still blocked (a request found granted after its
    /// cancellation keeps the range).
    func waitUntilGrantedAsync(_ node: UnsafeMutablePointer<Node>) async -> Bool {
        let blocked = { self.isBlocked(node) }
        if !blocked() { return true }
        fenceAgainstFastReleases(node)
        let start = MonotonicClock.nanoseconds()
        let key = UInt(bitPattern: node)
        while blocked() {
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            // Validated under the bucket lock, as the thread form: a
            // releaser decrements (or clears its slot) first and unparks
            // after. A wake-up meant for a recycled node's address loops.
            if await lot.parkAsync(key: key, validate: blocked) == .cancelled {
                // Granted meanwhile (the releaser's count reached zero before
                // the cancellation took the task out of the queue): the
                // grant stands, as documented.
                if !blocked() { break }
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
        }
        statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
        statistics?.recordAcquired(lostRaces: 0, since: start)
        return true
    }

    @inline(__always) func acquiredAsync(_ instance: UInt, _ range: Range<UInt64>, _ mode: LockMode) {
        #if DebugLocks
        LockDep.acquired(lockClass, instance: instance, mode: mode, order: debugOrder(range), site: LockSite(), isTry: true)
        #endif
    }
}
