import CFolioShims
import Synchronization

/// The **hybrid fair** bit lock: the per-page bit lock (same two bits in the
/// owner's word, same parking lot) plus bounded optimistic spinning and bounded
/// unfairness (Linux 5.9's fix, "allow a controlled amount of unfairness in the
/// page lock", extended with a time bound in the manner of parking_lot).
///
/// - Guarantees: mutual exclusion; no lost wake-ups; `tryLock` never blocks.
/// - Fairness: a waiter that has lost `policy.unfairness` races, or has waited
///   `policy.maxWait`, is due a handoff: the unlocker re-takes the bit on its
///   behalf and wakes it as owner. No acquisition follows more than
///   `unfairness` lost races (`LockStatistics.maxLostRaces`). A barger that
///   takes the bit in the instant between an unlock's `xadd` and the re-take
///   defers the handoff to its own unlock (as in Linux); see docs/locking.md.
///   With `unfairness == 0` every contended unlock is a FIFO handoff, and a
///   thread that finds the bit free while others are parked passes it to the
///   first of them instead of keeping it: threads acquire in the order they
///   parked.
/// - Cost: zero bytes beyond the two bits. Uncontended lock = one `lock bts`
///   (strict FIFO: plus a plain load of `parked`),
///   uncontended unlock = one `lock xadd`. Spinning only while no thread is
///   parked.
///
/// Optional, per policy: at most one woken waiter up at a time
/// (`singleWaker`), waking a due waiter ahead of its handoff so that it is
/// running when it gets the lock (`handoffSpin`, on in the default), a yield
/// after a handoff (`yieldOnHandoff`); docs/locking.md.
///
/// Presets: `HybridLockPolicy.fair` (strict FIFO, no spin: the 5.9 kernel),
/// `.barging` (no bound) and `.kernel` (the kernel-faithful hybrid) exist so
/// the load tool can compare them.
public enum HybridLock {
    /// Takes the lock if it is free. Never blocks (under strict FIFO it may
    /// pass a free lock on to a parked waiter, which takes the bucket lock but
    /// never waits for the lock itself).
    @inlinable @inline(__always)
    public static func tryLock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics? = nil) -> Bool {
        // One `lock bts` (acquire pairs with the release in `unlock`).
        if word.bitwiseOr(BitLockBits.locked, ordering: .acquiring).oldValue & BitLockBits.locked != 0 {
            return false
        }
        // Strict FIFO: a free bit while threads are parked is theirs. `parked`
        // is read after taking the bit: if it was set before, it still is
        // (it is cleared only when nobody is left to wake); if a waiter set it
        // just after, passing the lock on is merely polite.
        if policy.unfairness == 0 && word.load(ordering: .relaxed) & BitLockBits.parked != 0 {
            return !yieldToQueue(word, key: key, lot: lot, statistics: statistics)
        }
        return true
    }

    /// Takes the lock, spinning and parking (on `key` in `lot`) as `policy`
    /// allows, until it is this thread's — by its own race or a handoff.
    ///
    /// - Parameters:
    ///   - word: The owner's state word; only its two lock bits are changed.
    ///   - key: The parking-lot key of this lock (usually the word's address).
    ///   - lot: The parking lot waiters sleep in.
    ///   - policy: Spinning, unfairness and wait bounds.
    ///   - statistics: Slow-path counters to update, if any.
    @inlinable @inline(__always)
    public static func lock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics? = nil) {
        if tryLock(word, key: key, lot: lot, policy: policy, statistics: statistics) { return }
        _ = lockSlow(word, key: key, lot: lot, policy: policy, timeout: nil, statistics: statistics)
    }

    /// Takes the lock like `lock(_:key:lot:policy:statistics:)`, but gives up
    /// after `timeout`.
    ///
    /// - Returns: Whether the lock was taken.
    @inlinable
    public static func lock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, timeout: Duration, statistics: LockStatistics? = nil) -> Bool {
        if tryLock(word, key: key, lot: lot, policy: policy, statistics: statistics) { return true }
        return lockSlow(word, key: key, lot: lot, policy: policy, timeout: timeout, statistics: statistics)
    }

    /// Releases the lock with one `lock xadd`; if threads are parked on
    /// `key`, hands the lock to a waiter that is due a handoff, or wakes one
    /// to race for it, as `policy` says.
    @inlinable @inline(__always)
    public static func unlock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics? = nil) {
        // Drop the bit in one `lock xadd` (release pairs with the next
        // locker's acquire). If someone is parked, the slow path re-takes the
        // bit for a waiter that is due a handoff. A barger that slips into that
        // window either overtakes without waking anyone — exactly like one that
        // arrives while a woken waiter is still getting up, so the lost-race
        // bound is unaffected — or, under strict FIFO, sees `parked` and passes
        // the bit on to the queue itself (`tryLock`).
        unlock(word, key: key, lot: lot, policy: policy, statistics: statistics, subtracting: 0)
    }

    /// Releases the lock and subtracts `extra` from the word in the same
    /// `lock xadd` (a count the owner keeps in the word, such as a folio's
    /// pins); returns the word's previous value. The uncontended acquire
    /// counterpart is `BitLock.tryLock(_:adding:ifMasked:equals:)`, which
    /// takes the bit only while nobody is parked — the hybrid's own fast path
    /// under every policy.
    @inlinable @inline(__always) @discardableResult
    public static func unlock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics? = nil, subtracting extra: UInt64) -> UInt64 {
        let old = word.wrappingSubtract(BitLockBits.locked &+ extra, ordering: .releasing).oldValue
        assert(old & BitLockBits.locked != 0, "HybridLock.unlock of an unlocked word")
        // One test of `old`, as without restriction: no load and no look at
        // the policy before the `xadd`, and the restriction's own test (is
        // someone spinning?) out of line behind it — each of the three, on
        // the inlined path, took the uncontended pair from 12 to 14-19 ns
        // (docs/performance.md). (`attention` is only ever set with
        // `parked`.)
        if old & BitLockBits.parked != 0 {
            unlockParked(word, key: key, lot: lot, policy: policy, statistics: statistics, old: old)
        }
        return old
    }

    /// An unlock that found `parked`: skips the parking lot while a
    /// spinner will take the lock (restriction) and nobody asks for
    /// attention, and takes the slow path otherwise. (Under `singleWaker`
    /// the slow path may wake nobody, but it always looks at the first
    /// waiter: skipping it without the bucket lock was measured faster but
    /// let due waiters wait out a woken one's whole wake-up;
    /// docs/fairness.md.)
    @usableFromInline
    static func unlockParked(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics?, old: UInt64) {
        if unlockNeedsSlowPath(old) {
            unlockSlow(word, key: key, lot: lot, policy: policy, statistics: statistics)
        }
    }

    /// A slow unlock's handoff to the waiter of `token`, under the bucket
    /// lock: re-takes the free bit for it (the waiter inherits whatever the
    /// last holder released — this unlocker, or a barger that also
    /// released) and returns true; or, if a barger holds the bit, adds one
    /// to the waiter's count of unlocks that passed it over and returns
    /// false (the barger's unlock must try again).
    @inline(__always)
    static func handOffOrDefer(_ word: borrowing Atomic<UInt64>, _ token: inout ParkToken, statistics: LockStatistics?) -> Bool {
        if BitLock.setBitIfClear(word, BitLockBits.locked) {
            if let statistics, token.deferredHandoffs > 0 {
                statistics.maxHandoffDeferrals.max(token.deferredHandoffs, ordering: .relaxed)
            }
            return true
        }
        token.bits &+= 1 << 32
        statistics?.deferredHandoffs.wrappingAdd(1, ordering: .relaxed)
        return false
    }

    /// Threads spinning in `lockSlow` right now, over every hybrid lock
    /// (counted only for policies with a `maxSpinners` cap). Never exceeds
    /// the largest cap in use: a slot is taken by compare-and-swap.
    public static let spinners = Atomic<Int>(0)

    @usableFromInline
    static func takeSpinnerSlot(_ cap: Int) -> Bool {
        var n = spinners.load(ordering: .relaxed)
        while n < cap {
            let (ok, current) = spinners.weakCompareExchange(expected: n, desired: n + 1, ordering: .relaxed)
            if ok { return true }
            n = current
        }
        return false
    }

    @usableFromInline
    static func lockSlow(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, timeout: Duration?, statistics: LockStatistics?) -> Bool {
        if policy.isRestricted {
            return lockSlowRestricted(word, key: key, lot: lot, policy: policy, timeout: timeout, statistics: statistics)
        }
        let start = MonotonicClock.nanoseconds()
        let deadline: UInt64? = timeout.map { start &+ min($0.clampedNanoseconds, UInt64.max / 2) }
        var lost: UInt64 = 0
        var woken = false
        var spins = 0
        var firstPark: UInt64 = 0
        // Whether this thread holds one of the `policy.maxSpinners` slots.
        var spinSlot = false
        var mayNotSpin = false
        // Whether this thread carries its lock's awake mark (woken with
        // the awake bit under `singleWaker`): unlocks meanwhile wake nobody,
        // counting on it to see the bit. It gives the mark up when it takes
        // the lock, parks again, or leaves at its timeout.
        var awake = false
        // Whether an unlock has woken this thread ahead of its handoff
        // (`handoffSpin`): it is not woken ahead again.
        var wokenAhead = false
        defer { if spinSlot { spinners.wrappingSubtract(1, ordering: .relaxed) } }
        while true {
            let s = word.load(ordering: .relaxed)
            if s & BitLockBits.locked == 0 {
                if BitLock.takeFreeBit(word, s) {
                    if awake {
                        // We own the lock: its next unlock (ours) sees
                        // `parked` and wakes the next waiter.
                        lot.clearAwakeMark(key)
                        awake = false
                    }
                    if policy.unfairness == 0 && s & BitLockBits.parked != 0
                        && yieldToQueue(word, key: key, lot: lot, statistics: statistics) {
                        // Strict FIFO: the free bit belonged to a parked waiter
                        // and has been passed to it; queue behind.
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
            // Optimistic spinning: only before our first park and only while
            // nobody is parked (a parked thread means the holder is slow or the
            // lock is contended enough that spinning steals a core).
            if firstPark == 0 && !mayNotSpin && spins < policy.spinLimit && s & BitLockBits.parked == 0 {
                if !spinSlot, let cap = policy.maxSpinners {
                    if !takeSpinnerSlot(cap) {
                        // Enough threads spin already: park instead.
                        mayNotSpin = true
                        continue
                    }
                    spinSlot = true
                }
                spins += 1
                folio_cpu_relax()
                continue
            }
            if spinSlot {
                spinners.wrappingSubtract(1, ordering: .relaxed)
                spinSlot = false
            }
            if !BitLock.markParked(word, s) { continue }
            var remaining: Duration? = nil
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                if now >= deadline {
                    if awake {
                        // Pass the wake on: an unlock may have skipped it
                        // for us. Under the bucket lock, after that unlock's
                        // own section, so the load below sees its free bit.
                        lot.clearAwakeMark(key)
                        if word.load(ordering: .relaxed) & BitLockBits.mask == BitLockBits.parked {
                            unlockSlow(word, key: key, lot: lot, policy: policy, statistics: statistics)
                        }
                    }
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
                remaining = .nanoseconds(Int64(clamping: deadline - now))
            }
            var spinFirst = false
            if firstPark == 0 {
                firstPark = MonotonicClock.nanoseconds()
            } else if policy.handoffSpin > 0 {
                // Parking again already due a handoff: the next unlock that
                // finds the bit free hands it over; be running then.
                spinFirst = policy.mustHandOff(to: ParkToken(lostRaces: lost, firstPark: firstPark), now: MonotonicClock.nanoseconds)
            }
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = lot.park(
                key: key,
                token: ParkToken(lostRaces: lost, firstPark: firstPark, spinsBeforeSleep: spinFirst, wokenAhead: wokenAhead),
                atFront: (lost > 0 || wokenAhead) && policy.requeueAtFront,
                timeout: remaining,
                spinBeforeSleep: spinFirst ? policy.handoffSpin : 0,
                validate: {
                    // Give the mark up first (fenced), then look at the bit:
                    // an unlock that saw the mark dropped its bit before, and
                    // the load below sees it free (or someone holds it).
                    if awake {
                        lot.clearAwakeMarkLocked(key)
                        awake = false
                    }
                    return BitLock.heldWithWaiters(word)
                },
                timedOut: { wasLast in
                    if wasLast { word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed) }
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                // The unlocker kept `locked` set on our behalf: we own it.
                // (Acquire: our park's load of the node state pairs with the
                // unlocker's release store, made after its critical section.)
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return true
            case .unparked(let token):
                // Woken ahead of a handoff, the thread has not been asked to
                // race: finding the bit taken is no lost race.
                let ahead = token.rawValue & aheadBit != 0
                woken = !ahead
                if ahead { wokenAhead = true }
                awake = token.rawValue & awakeBit != 0
            case .invalid:
                break
            case .timedOut:
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
        }
    }

    /// Under strict FIFO, a thread that took the bit while others are parked
    /// passes it to the first of them (keeping the bit set, so ownership moves
    /// directly). Returns false if nobody was parked after all: the caller
    /// keeps the lock (and `parked` is cleared).
    @usableFromInline
    static func yieldToQueue(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, statistics: LockStatistics?) -> Bool {
        var handedOver = false
        lot.unparkOne(key: key) { result in
            // Under the bucket lock: no parker validates concurrently.
            if !result.haveMoreThreads {
                word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed)
            }
            guard result.unparkedThreads > 0 else { return .retry }
            handedOver = true
            statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
            return .handoff
        }
        return handedOver
    }

    /// Bits of the unpark token of a waiter woken to retry: it carries its
    /// lock's awake mark (`HybridLockPolicy.singleWaker`); it was woken
    /// ahead of a handoff (`HybridLockPolicy.handoffSpin`).
    @usableFromInline static let awakeBit: UInt64 = 2
    @usableFromInline static let aheadBit: UInt64 = 4

    /// Slow unlock after the bit was already dropped. The first parked waiter
    /// is either due a handoff — then the bit is re-taken on its behalf, or,
    /// if a barger holds it by now, the waiter stays queued and that barger's
    /// unlock (which will see `parked`) hands it over — or it is woken to
    /// race. Under `singleWaker` it is not woken at all while another waiter
    /// of this lock is up (carries the awake mark): that one sees the bit.
    @usableFromInline
    static func unlockSlow(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, policy: HybridLockPolicy, statistics: LockStatistics?) {
        if policy.isRestricted {
            unlockSlowRestricted(word, key: key, lot: lot, policy: policy, statistics: statistics)
            return
        }
        var decided = false
        var handoff = false
        var marked = false
        var ahead = false
        lot.unparkFilter(
            key: key,
            updating: { token in
                if decided { return .stop }
                decided = true
                // One clock read, only when something uses it.
                let now = policy.maxWait != nil || statistics != nil ? MonotonicClock.nanoseconds() : 0
                let due = policy.mustHandOff(to: token, now: { now })
                if due && policy.handoffSpin > 0 && !token.spinsBeforeSleep && !token.wokenAhead {
                    // Due, but asleep: handing it the bit would leave the
                    // lock idle for its whole wake-up. Wake it ahead instead;
                    // it parks again spinning, and the next unlock hands over.
                    ahead = true
                    statistics?.aheadWakes.wrappingAdd(1, ordering: .relaxed)
                    if policy.singleWaker { marked = lot.setAwakeMark(key) }
                    return .unpark
                }
                if due {
                    // (A barger holds it: `parked` stays set, so its unlock
                    // comes here.)
                    guard handOffOrDefer(word, &token, statistics: statistics) else { return .stop }
                    handoff = true
                    return .unpark
                }
                if policy.singleWaker {
                    if lot.awakeMark(for: key) == key {
                        // A woken waiter of this lock is up and will see the
                        // free bit (it parks again only while the bit is set).
                        statistics?.skippedWakes.wrappingAdd(1, ordering: .relaxed)
                        return .stop
                    }
                    marked = lot.setAwakeMark(key)
                }
                if let statistics, now >= token.timestamp {
                    statistics.maxRetryWakeWaitNanoseconds.max(now - token.timestamp, ordering: .relaxed)
                }
                return .unpark
            },
            callback: { result in
                // Under the bucket lock: clear `parked` only if nobody is left.
                if !result.haveMoreThreads {
                    word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed)
                }
                if handoff {
                    statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
                    return .handoff
                }
                if marked && result.unparkedThreads == 0 {
                    // Nobody to wake after all: take the mark back.
                    lot.clearAwakeMarkLocked(key)
                    marked = false
                }
                return UnparkToken(rawValue: (marked ? awakeBit : 0) | (ahead ? aheadBit : 0))
            })
        if handoff && policy.yieldOnHandoff {
            // Let the new owner have this CPU if it is waiting for one.
            folio_thread_yield()
        }
    }
}
