import Synchronization

/// The two bits a bit lock owns in a 64-bit state word. Every other bit of the
/// word belongs to its owner (a folio keeps its uptodate / dirty / … flags
/// there), so lock operations only ever change these two, with atomic
/// read-modify-write operations that leave the rest alone.
///
/// | locked | parked | meaning |
/// |---|---|---|
/// | 0 | 0 | free, nobody waits: lock is one CAS, unlock one `lock xadd` |
/// | 1 | 0 | held, nobody parked: unlock never touches the parking lot |
/// | 1 | 1 | held, threads may be parked on the word's key |
/// | 0 | 1 | free, a woken thread is about to retry (or the last waiter timed out) |
///
/// **Invariant (no lost wake-up):** whenever a thread is queued in the parking
/// lot under this word's key, `parked` is set. A parker sets `parked` and then
/// re-checks `locked && parked` under the bucket lock before it queues; the bit
/// is cleared only under the same bucket lock when the last queued thread
/// leaves. An unlocker that sees `parked` after clearing `locked` always calls
/// into the parking lot.
public enum BitLockBits {
    /// Bit 0: the lock is held.
    public static let locked: UInt64 = 1 << 0
    /// Bit 1: threads may be parked on the word's key.
    public static let parked: UInt64 = 1 << 1
    /// Both lock bits.
    public static let mask: UInt64 = locked | parked
    /// Bit 30: a thread spins for the lock (the hybrid lock under
    /// concurrency restriction, `HybridLockPolicy.restrictSpin`; never set
    /// otherwise). An unlock that finds it skips the wake.
    public static let spinner: UInt64 = 1 << 30
    /// Bit 31: a parked waiter asks the next unlock to look at the queue (it
    /// is due a handoff, or it is a task); the hybrid lock under
    /// restriction only.
    public static let attention: UInt64 = 1 << 31
    /// Every bit a lock may change: the two above and the restriction bits.
    /// The owner's own flags must stay clear of it.
    public static let all: UInt64 = mask | spinner | attention
}

/// The **per-page bit lock**: a lock bit and a waiters bit in someone else's
/// atomic word, waiters only in a `ParkingLot`, and plain wake-and-retry
/// (barging) semantics — the Linux page lock before 5.9.
///
/// - Guarantees: mutual exclusion; no lost wake-ups; `tryLock` never blocks;
///   a timed `lock` returns false without the lock.
/// - Fairness: none. An unlock wakes the first parked thread, which must win
///   the bit against any thread arriving meanwhile; it re-queues at the tail if
///   it loses. A thread can be overtaken without bound.
/// - Cost: zero bytes beyond the two bits; uncontended lock = one load + one
///   CAS, unlock = one atomic subtract (`lock xadd`); the parking lot is touched
///   only when the `parked` bit is set.
///
/// The word's address is not needed: callers pass a `key` (usually the address
/// of the object holding the word) under which waiters park.
public enum BitLock {
    /// Takes the lock if it is free. Never blocks.
    ///
    /// One `lock bts`-style atomic or: if the bit was already set the word is
    /// unchanged, so a failed attempt has no effect (beyond owning the cache
    /// line for a moment — slow paths therefore spin on plain loads and only
    /// come here when the bit looked clear).
    @inlinable
    public static func tryLock(_ word: borrowing Atomic<UInt64>) -> Bool {
        // Acquire pairs with the release in `unlock`.
        word.bitwiseOr(BitLockBits.locked, ordering: .acquiring).oldValue & BitLockBits.locked == 0
    }

    /// Takes the lock, parking in `lot` under `key` while it is held.
    @inlinable
    public static func lock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, statistics: LockStatistics? = nil) {
        if tryLock(word) { return }
        _ = lockSlow(word, key: key, lot: lot, timeout: nil, statistics: statistics)
    }

    /// Takes the lock or gives up after `timeout`; returns whether it is held.
    @inlinable
    public static func lock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, timeout: Duration, statistics: LockStatistics? = nil) -> Bool {
        if tryLock(word) { return true }
        return lockSlow(word, key: key, lot: lot, timeout: timeout, statistics: statistics)
    }

    /// Releases the lock. The caller must hold it.
    @inlinable
    public static func unlock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot) {
        // `locked` is known to be set, so subtracting it clears exactly that
        // bit in one `lock xadd`, leaving the owner's other bits intact.
        // Release pairs with the acquire of the next locker.
        unlock(word, key: key, lot: lot, subtracting: 0)
    }

    /// Takes the lock and adds `extra` to the word in one compare-and-swap —
    /// only if the lock is free, nobody is parked, and the word's bits under
    /// `mask` equal `expected`. Never blocks; false leaves the word as it was.
    /// For an owner that keeps a count in the same word (a folio's pins): one
    /// atomic instead of two on an uncontended path.
    @inlinable
    public static func tryLock(_ word: borrowing Atomic<UInt64>, adding extra: UInt64, ifMasked mask: UInt64, equals expected: UInt64) -> Bool {
        let s = word.load(ordering: .relaxed)
        guard s & (mask | BitLockBits.mask) == expected & ~BitLockBits.mask else { return false }
        return word.compareExchange(
            expected: s, desired: (s &+ extra) | BitLockBits.locked,
            successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    /// Releases the lock and subtracts `extra` from the word in the same
    /// `lock xadd` (the counterpart of `tryLock(_:adding:ifMasked:equals:)`).
    /// Returns the word's previous value.
    @inlinable @discardableResult
    public static func unlock(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, subtracting extra: UInt64) -> UInt64 {
        let old = word.wrappingSubtract(BitLockBits.locked &+ extra, ordering: .releasing).oldValue
        assert(old & BitLockBits.locked != 0, "BitLock.unlock of an unlocked word")
        if old & BitLockBits.parked != 0 {
            unlockSlow(word, key: key, lot: lot)
        }
        return old
    }

    /// Whether the lock bit is set (a racy snapshot, for assertions and tests).
    @inlinable
    public static func isLocked(_ word: borrowing Atomic<UInt64>) -> Bool {
        word.load(ordering: .relaxed) & BitLockBits.locked != 0
    }

    // MARK: Steps of the slow paths (BitLock's and HybridLock's, thread and task forms)

    /// Takes the lock bit if `s`, a fresh load of `word`, has it clear.
    /// True if taken; false if `s` was stale or the bit is set (reload).
    @inline(__always)
    static func takeFreeBit(_ word: borrowing Atomic<UInt64>, _ s: UInt64) -> Bool {
        word.weakCompareExchange(
            expected: s, desired: s | BitLockBits.locked,
            successOrdering: .acquiring, failureOrdering: .relaxed).exchanged
    }

    /// Sets `bit` of `word` unless it is set already (acquire: a lock bit
    /// taken this way inherits what the last holder released). True if this
    /// call set it.
    @inline(__always)
    static func setBitIfClear(_ word: borrowing Atomic<UInt64>, _ bit: UInt64) -> Bool {
        var s = word.load(ordering: .relaxed)
        while s & bit == 0 {
            let (ok, current) = word.weakCompareExchange(
                expected: s, desired: s | bit,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if ok { return true }
            s = current
        }
        return false
    }

    /// Sets the parked bit before a park, unless `s` (a fresh load of a
    /// locked `word`) has it already. False if `word` changed meanwhile
    /// (reload and start over).
    @inline(__always)
    static func markParked(_ word: borrowing Atomic<UInt64>, _ s: UInt64) -> Bool {
        s & BitLockBits.parked != 0 || word.weakCompareExchange(
            expected: s, desired: s | BitLockBits.parked,
            successOrdering: .relaxed, failureOrdering: .relaxed).exchanged
    }

    /// A park's validation, under the bucket lock: still held and `parked`
    /// still set, so the unlocker will find the waiter in the queue.
    @inline(__always)
    static func heldWithWaiters(_ word: borrowing Atomic<UInt64>) -> Bool {
        word.load(ordering: .relaxed) & BitLockBits.mask == BitLockBits.mask
    }

    @usableFromInline
    static func lockSlow(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot, timeout: Duration?, statistics: LockStatistics?) -> Bool {
        let start = MonotonicClock.nanoseconds()
        let deadline: UInt64? = timeout.map { start &+ min($0.clampedNanoseconds, UInt64.max / 2) }
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
                // Woken, and somebody else took the lock first.
                lost += 1
                woken = false
                statistics?.lostRaces.wrappingAdd(1, ordering: .relaxed)
            }
            if !markParked(word, s) { continue }
            var remaining: Duration? = nil
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                if now >= deadline {
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
                remaining = .nanoseconds(Int64(clamping: deadline - now))
            }
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            let result = lot.park(
                key: key, timeout: remaining,
                validate: { heldWithWaiters(word) },
                timedOut: { wasLast in
                    if wasLast { word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed) }
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return true
            case .unparked:
                woken = true
            case .invalid:
                break
            case .timedOut:
                statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                return false
            }
        }
    }

    @usableFromInline
    static func unlockSlow(_ word: borrowing Atomic<UInt64>, key: UInt, lot: ParkingLot) {
        lot.unparkOne(key: key) { result in
            // Under the bucket lock: clearing `parked` here cannot race with a
            // parker's validate, which runs under the same lock.
            if !result.haveMoreThreads {
                word.bitwiseAnd(~BitLockBits.parked, ordering: .relaxed)
            }
            return .retry
        }
    }
}
