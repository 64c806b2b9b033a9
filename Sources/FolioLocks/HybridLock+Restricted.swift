import CFolioShims
import Synchronization

/// Concurrency restriction for the hybrid lock (`HybridLockPolicy.restrictSpin`):
/// at most one thread spins for a held lock, and only while another waiter
/// sleeps; every other waiter (the first one included) parks at once and
/// stays parked, so the threads that compete for the lock are its owner and
/// one spinner — about the number of cores of a small machine,
/// however many threads want the lock (Dice, "Malthusian locks", EuroSys
/// 2017; Go 1.24's runtime mutex). Long-term fairness comes from the parked
/// threads' own clocks: a waiter parked `maxWait` (or past `unfairness` lost
/// races) is due, and the next unlock hands it the lock. Due waiters queue
/// ahead of the others, oldest first; the spinner too is due once it has waited
/// `maxWait`; and an arrival that goes to park behind a spinner stays
/// parked even if the lock frees before its park validates (the spinner
/// will take it) — else arrivals barged in at that instant and kept most
/// threads runnable, which is where the tail came from (docs/fairness.md,
/// "Where the restricted tail went").
///
/// The spinner spins only while another waiter sleeps (`parked`): the
/// first waiter of a held lock parks, and a spinner that finds the queue
/// empty gives up at once (counted as a lost race, like a woken waiter that
/// finds the lock taken). With no more threads than cores no spinner then
/// waits on the other core through the owner's run of acquisitions
/// (docs/fairness.md, "The spinner only while somebody sleeps": 2 threads
/// at 0.92–0.99× barging when the first waiter spun, 1.3–1.8× now). The
/// only sleeper leaves the queue for a moment when its clock makes it due
/// (it parks again, ahead of the waiters that are not due); a spinner that
/// looks then gives up too.
///
/// Two more bits of the owner's word carry it, so that an uncontended unlock
/// stays one `lock xadd` and a contended one skips the parking lot while
/// someone spins:
/// - `BitLockBits.spinner`: a thread spins for the lock (set only while the
///   lock is held with `parked`, by compare-and-swap, or by an unlocker for
///   the waiter it wakes). Its owner either takes the lock (clearing the bit
///   in the same compare-and-swap) or clears it while the lock is held, then
///   parks — so an unlock that skipped the wake because of it is never the
///   last one: no lost wake-up.
/// - `BitLockBits.attention`: a parked waiter needs the next unlock to look
///   at the queue — it is due a handoff, or it is a task (tasks do not
///   spin; while one is parked, unlocks take the slow path as without
///   restriction). Set by the waiter in its park validation, under the
///   bucket lock, only while the lock is held.
///
/// An unlock takes the slow path iff `attention` is set, or `parked` is set
/// and `spinner` is not.
extension HybridLock {
    /// Unpark-token bit: the woken thread owns the spinner bit (set for it
    /// by the unlocker under the bucket lock).
    @usableFromInline static let spinnerBit: UInt64 = 8

    /// Whether `old`, the word before an unlock's `xadd`, asks for the slow
    /// path: somebody parked and nobody spinning, or a parked waiter wants
    /// attention. For words without the restriction bits this is the
    /// classic `parked` test.
    @inlinable @inline(__always)
    static func unlockNeedsSlowPath(_ old: UInt64) -> Bool {
        // `attention` is only ever set with `parked` (by a waiter's park
        // validation while both lock bits are set; cleared with `parked`
        // when the queue empties), so the first test is the classic one.
        old & BitLockBits.parked != 0
            && old & (BitLockBits.spinner | BitLockBits.attention) != BitLockBits.spinner
    }

    /// `lockSlow` under concurrency restriction (threads).
    @usableFromInline
    static func lockSlowRestricted(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, timeout: Duration?, statistics: LockStatistics?) -> Bool {
        let start = MonotonicClock.nanoseconds()
        let deadline: UInt64? = timeout.map { start &+ min($0.clampedNanoseconds, UInt64.max / 2) }
        let maxWait = policy.maxWaitNanoseconds
        var lost: UInt64 = 0
        var firstPark: UInt64 = 0
        // This thread owns `spinner`.
        var spinner = false
        // This thread is due a handoff: it parks ahead, asks for
        // attention, and spins on its queue entry before sleeping.
        var due = false
        // This thread gave up spinning: it parks (and does not take the
        // spinner bit again) until an unlock wakes it.
        var gaveUp = false
        while true {
            if spinner {
                // Spin for the lock, then give the bit up if it never came.
                var n = 0
                var expired = false
                // Past the time bound: stop spinning and be due. (Only a
                // thread that has slept can be past it already: an arrival
                // read `start` just now, and under restriction most
                // acquisitions come this way — one clock read saved each.)
                var pastBound = firstPark != 0 && maxWait.map { MonotonicClock.nanoseconds() &- start >= $0 } ?? false
                while !pastBound && n < policy.restrictSpin {
                    let s = word.load(ordering: .relaxed)
                    // A free lock with `attention` set is a due waiter's:
                    // the unlocker is on its way to hand it over (or, if
                    // the bit outlived it, the spinner takes the lock when
                    // it gives up, and its unlock hands over).
                    if s & (BitLockBits.locked | BitLockBits.attention) == 0 {
                        if takeFreeBitAsSpinner(word, s) {
                            statistics?.spinAcquisitions.wrappingAdd(1, ordering: .relaxed)
                            statistics?.recordAcquired(lostRaces: lost, since: start)
                            return true
                        }
                        continue
                    }
                    // Nobody sleeps any more: stop spinning (and park,
                    // woken by the holder's unlock).
                    if s & BitLockBits.parked == 0 { break }
                    n += 1
                    folio_cpu_relax()
                    // Every 64 pauses, give the CPU to whoever waits for
                    // one — with more threads than cores, often the owner
                    // (preempted) or a due waiter its timer just woke
                    // (docs/fairness.md: without the yield the restricted
                    // lock ran at 0.25–0.5× barging).
                    if n & 63 == 0 {
                        folio_thread_yield()
                        // The time bound holds for the spinner too: with
                        // more threads than cores a yield may cost a slice.
                        // (Restriction always has a `maxWait`.)
                        let now = MonotonicClock.nanoseconds()
                        if let deadline, now >= deadline {
                            expired = true
                            break
                        }
                        if let maxWait, now &- start >= maxWait {
                            pastBound = true
                            break
                        }
                    }
                }
                if dropSpinnerBit(word) {
                    // The lock was free when we gave up: it is ours.
                    statistics?.recordAcquired(lostRaces: lost, since: start)
                    return true
                }
                spinner = false
                gaveUp = true
                lost += 1
                statistics?.lostRaces.wrappingAdd(1, ordering: .relaxed)
                if lost >= policy.unfairness { due = true }
                if pastBound {
                    // Due by the clock, counted from arrival: the token's
                    // timestamp says so to the unlocker.
                    due = true
                    firstPark = start
                }
                if expired {
                    // `spinner` is clear: the holder's unlock wakes a parked
                    // waiter itself.
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
            }
            let s = word.load(ordering: .relaxed)
            if s & BitLockBits.locked == 0 {
                if BitLock.takeFreeBit(word, s) {
                    statistics?.recordAcquired(lostRaces: lost, since: start)
                    return true
                }
                continue
            }
            // Held. Spin if nobody does and somebody sleeps (a due waiter
            // waits for its handoff instead; the first waiter parks).
            if !due && !gaveUp && s & (BitLockBits.spinner | BitLockBits.parked) == BitLockBits.parked {
                if word.weakCompareExchange(
                    expected: s, desired: s | BitLockBits.spinner,
                    successOrdering: .relaxed, failureOrdering: .relaxed).exchanged {
                    spinner = true
                }
                continue
            }
            if !BitLock.markParked(word, s) { continue }
            let now = MonotonicClock.nanoseconds()
            if let deadline, now >= deadline {
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
            if firstPark == 0 { firstPark = now }
            // Sleep until woken, handed the lock, or due by the clock.
            var wake = deadline
            if !due, let maxWait {
                let dueAt = firstPark &+ maxWait
                if now >= dueAt { due = true } else { wake = min(wake ?? dueAt, dueAt) }
            }
            let remaining: Duration? = wake.map { .nanoseconds(Int64(clamping: $0 - now)) }
            let isDue = due
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = lot.park(
                key: key,
                token: ParkToken(lostRaces: lost, firstPark: firstPark, spinsBeforeSleep: isDue, attention: isDue),
                // Only a due waiter goes ahead: the unlock hands the lock to
                // the first waiter or to nobody, so a waiter that is not due
                // must never stand before one that is. A due one queues
                // behind the older due waiters (`attention`) and ahead of
                // the rest: at the very front they were served newest
                // first, and a stream of newly due waiters kept the oldest
                // waiting; by first-park time alone, one due by lost races
                // stood behind an older waiter that was not due, and the
                // unlock woke that one instead (review).
                behind: isDue && policy.requeueAtFront ? { [firstPark] t in t.attention && t.timestamp <= firstPark } : nil,
                timeout: remaining,
                spinBeforeSleep: isDue ? policy.handoffSpin : 0,
                validate: { isDue ? askForAttention(word) : heldOrSpunFor(word) },
                timedOut: { wasLast in
                    if wasLast { word.bitwiseAnd(~(BitLockBits.parked | BitLockBits.attention), ordering: .relaxed) }
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return true
            case .unparked(let token):
                // Woken to spin (the unlocker set `spinner` for us), or to
                // race (no bit to own).
                if token.rawValue & spinnerBit != 0 { spinner = true }
                gaveUp = false
            case .invalid:
                break
            case .timedOut:
                if let deadline, MonotonicClock.nanoseconds() >= deadline {
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
                // Our own clock: due from now on.
                due = true
            }
        }
    }

    /// The spinner takes the free bit and gives up `spinner` in one
    /// compare-and-swap (acquire pairs with the last holder's release).
    @inline(__always)
    static func takeFreeBitAsSpinner(_ word: borrowing Atomic<UInt64>, _ s: UInt64) -> Bool {
        word.weakCompareExchange(
            expected: s, desired: (s | BitLockBits.locked) & ~BitLockBits.spinner,
            successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    /// The spinner gives its bit up: cleared while the lock is held (that
    /// holder's unlock then sees `parked` without `spinner` and wakes), or,
    /// if the lock is free, taken with the lock. Returns whether it took
    /// the lock.
    @inline(__always)
    static func dropSpinnerBit(_ word: borrowing Atomic<UInt64>) -> Bool {
        var s = word.load(ordering: .relaxed)
        while true {
            if s & BitLockBits.locked == 0 {
                let (ok, current) = word.weakCompareExchange(
                    expected: s, desired: (s | BitLockBits.locked) & ~BitLockBits.spinner,
                    successOrdering: .acquiring, failureOrdering: .relaxed)
                if ok { return true }
                s = current
                continue
            }
            let (ok, current) = word.weakCompareExchange(
                expected: s, desired: s & ~BitLockBits.spinner,
                successOrdering: .relaxed, failureOrdering: .relaxed)
            if ok { return false }
            s = current
        }
    }

    /// The park validation of a waiter that is not due: somebody parked
    /// (us, by now) and the lock held — or free with a spinner, who is
    /// committed to take it or to give its bit up, and either way an unlock
    /// with `parked` and no `spinner` follows. (Returning false on a free
    /// lock with a spinner, as `BitLock.heldWithWaiters` does, sent every
    /// arrival that met the lock free in that instant to take it: about 5 of
    /// 8 threads stayed runnable, and a parked waiter woken by its clock
    /// queued for a core for 3–5 ms; docs/fairness.md, "Where the
    /// restricted tail went".)
    @inline(__always)
    static func heldOrSpunFor(_ word: borrowing Atomic<UInt64>) -> Bool {
        let s = word.load(ordering: .relaxed)
        return s & BitLockBits.parked != 0 && s & (BitLockBits.locked | BitLockBits.spinner) != 0
    }

    /// A park validation that also asks for attention: while the lock is
    /// held with `parked` set, set `attention` in the same
    /// compare-and-swap (so the holder's unlock, whose `xadd` comes later,
    /// sees it); false if the lock is free.
    @inline(__always)
    static func askForAttention(_ word: borrowing Atomic<UInt64>) -> Bool {
        var s = word.load(ordering: .relaxed)
        while s & BitLockBits.mask == BitLockBits.mask {
            if s & BitLockBits.attention != 0 { return true }
            let (ok, current) = word.weakCompareExchange(
                expected: s, desired: s | BitLockBits.attention,
                successOrdering: .relaxed, failureOrdering: .relaxed)
            if ok { return true }
            s = current
        }
        return false
    }

    /// The slow unlock under restriction, after the bit was dropped. The
    /// first waiter is handed the lock if it is due (the bit re-taken for
    /// it: the spinner leaves a free lock with `attention` alone); otherwise, if nobody
    /// spins, it is woken as the spinner (threads) or to race (tasks); if
    /// somebody spins it stays parked. `attention` stays set while another
    /// waiter asks for it.
    @usableFromInline
    static func unlockSlowRestricted(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics?) {
        var decided = false
        var handoff = false
        var asSpinner = false
        var keepAttention = false
        lot.unparkFilter(
            key: key,
            updating: { token in
                if decided {
                    // Only whether someone else still asks for attention.
                    if token.attention {
                        keepAttention = true
                        return .stop
                    }
                    return .skip
                }
                decided = true
                let now = policy.maxWait != nil || statistics != nil ? MonotonicClock.nanoseconds() : 0
                if policy.mustHandOff(to: token, now: { now }) {
                    guard handOffOrDefer(word, &token, statistics: statistics) else {
                        // A barger holds it: its unlock must come here too.
                        keepAttention = true
                        return .stop
                    }
                    handoff = true
                    return .unpark
                }
                if token.isTask {
                    // Tasks do not spin: woken to race, as without restriction.
                    return .unpark
                }
                if BitLock.setBitIfClear(word, BitLockBits.spinner) {
                    asSpinner = true
                    // The instrument of the time-bound tests: how long had a
                    // waiter woken to spin (not handed the lock) been parked.
                    if let statistics, now >= token.timestamp {
                        statistics.maxRetryWakeWaitNanoseconds.max(now - token.timestamp, ordering: .relaxed)
                    }
                    return .unpark
                }
                // Somebody spins and will take the lock: wake nobody.
                statistics?.skippedWakes.wrappingAdd(1, ordering: .relaxed)
                return .skip
            },
            callback: { result in
                // Under the bucket lock, where waiters set `attention`.
                if !result.haveMoreThreads {
                    word.bitwiseAnd(~(BitLockBits.parked | BitLockBits.attention), ordering: .relaxed)
                } else if keepAttention {
                    word.bitwiseOr(BitLockBits.attention, ordering: .relaxed)
                } else {
                    word.bitwiseAnd(~BitLockBits.attention, ordering: .relaxed)
                }
                if handoff {
                    statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
                    return .handoff
                }
                return UnparkToken(rawValue: asSpinner ? spinnerBit : 0)
            })
    }
}
