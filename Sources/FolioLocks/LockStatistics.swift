import Synchronization

/// Counters a lock updates on its slow path only (the uncontended fast path
/// never touches them). Shared by every lock of a strategy, so they describe a
/// whole cache rather than one word.
///
/// "Lost race": a thread woken with `.retry` found the lock taken again by a
/// thread that did not wait in the queue (a barger) and had to park again. This
/// is the quantity the hybrid lock bounds: no acquisition ever follows more
/// than `unfairness` lost races.
public final class LockStatistics: Sendable {
    /// Acquisitions that did not succeed on the first atomic operation.
    public let slowAcquisitions = Atomic<UInt64>(0)
    /// Slow acquisitions that succeeded while spinning, before any park.
    public let spinAcquisitions = Atomic<UInt64>(0)
    /// Times a thread went to sleep in the parking lot.
    public let parks = Atomic<UInt64>(0)
    /// Times an unlocker handed the lock directly to a parked thread.
    public let handoffs = Atomic<UInt64>(0)
    /// Times a woken thread lost the race for the lock to a barger.
    public let lostRaces = Atomic<UInt64>(0)
    /// Acquire attempts that gave up at their timeout.
    public let timeouts = Atomic<UInt64>(0)
    /// The most lost races any single acquisition suffered.
    public let maxLostRaces = Atomic<UInt64>(0)
    /// The longest slow-path wait, in nanoseconds, from entering the slow path
    /// to owning the lock.
    public let maxWaitNanoseconds = Atomic<UInt64>(0)
    /// Sum of slow-path waits in nanoseconds (mean = total / slowAcquisitions).
    public let totalWaitNanoseconds = Atomic<UInt64>(0)
    /// The distribution of slow-path waits (for percentiles).
    public let waits = WaitHistogram()
    /// Unlocks that found the first waiter due a handoff but could not give
    /// it the lock, because a barger took the bit in the instant after the
    /// unlock dropped it (that barger's unlock tries again).
    public let deferredHandoffs = Atomic<UInt64>(0)
    /// The most such unlocks that passed over one waiter before it was
    /// handed the lock (0: every due waiter got it from the first unlock
    /// that looked at it).
    public let maxHandoffDeferrals = Atomic<UInt64>(0)
    /// The longest a waiter had been parked when an unlock woke it to race
    /// for the lock instead of handing it over. Below the policy's `maxWait`
    /// whenever the time bound holds: a waiter past it is never woken to
    /// race.
    public let maxRetryWakeWaitNanoseconds = Atomic<UInt64>(0)
    /// Unlocks that woke nobody because a woken waiter of the same lock was
    /// still up (`HybridLockPolicy.singleWaker`).
    public let skippedWakes = Atomic<UInt64>(0)
    /// Unlocks that woke a due waiter ahead of its handoff instead of handing
    /// the lock to it asleep (`HybridLockPolicy.handoffSpin`).
    public let aheadWakes = Atomic<UInt64>(0)

    /// Counters all zero.
    public init() {}

    /// A plain-value copy of the counters.
    public var snapshot: Snapshot {
        Snapshot(
            slowAcquisitions: slowAcquisitions.load(ordering: .relaxed),
            spinAcquisitions: spinAcquisitions.load(ordering: .relaxed),
            parks: parks.load(ordering: .relaxed),
            handoffs: handoffs.load(ordering: .relaxed),
            lostRaces: lostRaces.load(ordering: .relaxed),
            timeouts: timeouts.load(ordering: .relaxed),
            maxLostRaces: maxLostRaces.load(ordering: .relaxed),
            maxWaitNanoseconds: maxWaitNanoseconds.load(ordering: .relaxed),
            totalWaitNanoseconds: totalWaitNanoseconds.load(ordering: .relaxed),
            deferredHandoffs: deferredHandoffs.load(ordering: .relaxed),
            maxHandoffDeferrals: maxHandoffDeferrals.load(ordering: .relaxed),
            maxRetryWakeWaitNanoseconds: maxRetryWakeWaitNanoseconds.load(ordering: .relaxed),
            skippedWakes: skippedWakes.load(ordering: .relaxed),
            aheadWakes: aheadWakes.load(ordering: .relaxed))
    }

    /// A plain-value copy of the counters (`LockStatistics.snapshot`): each
    /// field is the counter of the same name, loaded with relaxed ordering.
    public struct Snapshot: Sendable, Equatable {
        /// Acquisitions that did not succeed on the first atomic operation.
        public var slowAcquisitions: UInt64
        /// Slow acquisitions that succeeded while spinning, before any park.
        public var spinAcquisitions: UInt64
        /// Times a thread went to sleep in the parking lot.
        public var parks: UInt64
        /// Times an unlocker handed the lock directly to a parked thread.
        public var handoffs: UInt64
        /// Times a woken thread lost the race for the lock to a barger.
        public var lostRaces: UInt64
        /// Acquire attempts that gave up at their timeout.
        public var timeouts: UInt64
        /// The most lost races any single acquisition suffered.
        public var maxLostRaces: UInt64
        /// The longest slow-path wait, in nanoseconds, from entering the slow path
        /// to owning the lock.
        public var maxWaitNanoseconds: UInt64
        /// Sum of slow-path waits in nanoseconds (mean = total / slowAcquisitions).
        public var totalWaitNanoseconds: UInt64
        /// Unlocks that found the first waiter due a handoff but could not give
        /// it the lock, because a barger took the bit in the instant after the
        /// unlock dropped it (that barger's unlock tries again).
        public var deferredHandoffs: UInt64 = 0
        /// The most such unlocks that passed over one waiter before it was
        /// handed the lock (0: every due waiter got it from the first unlock
        /// that looked at it).
        public var maxHandoffDeferrals: UInt64 = 0
        /// The longest a waiter had been parked when an unlock woke it to race
        /// for the lock instead of handing it over. Below the policy's `maxWait`
        /// whenever the time bound holds: a waiter past it is never woken to
        /// race.
        public var maxRetryWakeWaitNanoseconds: UInt64 = 0
        /// Unlocks that woke nobody because a woken waiter of the same lock was
        /// still up (`HybridLockPolicy.singleWaker`).
        public var skippedWakes: UInt64 = 0
        /// Unlocks that woke a due waiter ahead of its handoff instead of handing
        /// the lock to it asleep (`HybridLockPolicy.handoffSpin`).
        public var aheadWakes: UInt64 = 0
    }

    /// Records the end of one slow-path acquisition.
    @usableFromInline func recordAcquired(lostRaces lost: UInt64, since start: UInt64) {
        slowAcquisitions.wrappingAdd(1, ordering: .relaxed)
        if lost > 0 { maxLostRaces.max(lost, ordering: .relaxed) }
        let now = MonotonicClock.nanoseconds()
        let waited = now >= start ? now - start : 0
        maxWaitNanoseconds.max(waited, ordering: .relaxed)
        totalWaitNanoseconds.wrappingAdd(waited, ordering: .relaxed)
        waits.record(waited)
    }

    /// Sets every counter to zero, to start a measurement (racy against
    /// acquisitions running meanwhile, which may be counted on either side).
    public func reset() {
        slowAcquisitions.store(0, ordering: .relaxed)
        spinAcquisitions.store(0, ordering: .relaxed)
        parks.store(0, ordering: .relaxed)
        handoffs.store(0, ordering: .relaxed)
        lostRaces.store(0, ordering: .relaxed)
        timeouts.store(0, ordering: .relaxed)
        maxLostRaces.store(0, ordering: .relaxed)
        maxWaitNanoseconds.store(0, ordering: .relaxed)
        totalWaitNanoseconds.store(0, ordering: .relaxed)
        deferredHandoffs.store(0, ordering: .relaxed)
        maxHandoffDeferrals.store(0, ordering: .relaxed)
        maxRetryWakeWaitNanoseconds.store(0, ordering: .relaxed)
        skippedWakes.store(0, ordering: .relaxed)
        aheadWakes.store(0, ordering: .relaxed)
        waits.reset()
    }
}
