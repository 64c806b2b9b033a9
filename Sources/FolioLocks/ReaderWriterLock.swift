import CFolioShims
import Synchronization

/// A reader-writer lock on one atomic word and the parking lot: the lock of the
/// **per-inode** strategy (one per open file).
///
/// Word layout: bit 0 `writer`, bit 1 `parked`, bits 2… the reader count.
///
/// - Guarantees: a writer excludes everyone; readers overlap each other;
///   `tryLock*` never blocks; no lost wake-ups (same `parked`-bit protocol as
///   `BitLock`).
/// - Fairness: eventually fair, like the hybrid bit lock. A reader that has
///   not waited yet never takes the lock while anyone is parked (so a stream
///   of readers cannot starve a writer, even across moments where the reader
///   count touches zero); writers may barge into a *free* lock. A parked
///   waiter that has lost `policy.unfairness` races or waited `policy.maxWait`
///   is handed the lock by the next release that finds it free (a run of
///   parked readers is handed it together); as with the bit lock, a barging
///   writer that slips in between a release and that handoff defers it to its
///   own release. A reader due a handoff behind a head that is not due stays
///   queued rather than join the head's run of retrying readers, so no
///   waiter loses more than `policy.unfairness` races.
/// - Cost: 8 bytes of word plus the object header, per file; uncontended
///   write acquire and release = one CAS each (constant expected value);
///   read acquire = load + CAS, read release = one `lock xadd`.
public final class ReaderWriterLock: @unchecked Sendable {
    // @unchecked Sendable: all mutable state is the atomic word; the other
    // stored properties are immutable references/values.

    @usableFromInline let word = Atomic<UInt64>(0)
    @usableFromInline let lot: ParkingLot
    @usableFromInline let policy: HybridLockPolicy
    @usableFromInline let statistics: LockStatistics?

    @usableFromInline static let writer: UInt64 = 1
    @usableFromInline static let parked: UInt64 = 2
    @usableFromInline static let oneReader: UInt64 = 4

    #if DebugLocks
    /// The lock's class for `LockDep` (only with the `DebugLocks` trait).
    public let lockClass: LockClass

    /// `lockClass`: the lock's class for `LockDep` (kept only with the
    /// `DebugLocks` trait); nil gives it the class of the line creating it.
    public init(lot: ParkingLot = .shared, policy: HybridLockPolicy = .hybrid, statistics: LockStatistics? = nil,
                lockClass: LockClass? = nil, file: StaticString = #fileID, line: UInt = #line) {
        self.lot = lot
        self.policy = policy
        self.statistics = statistics
        self.lockClass = lockClass ?? LockClass(createdAt: file, line: line, kind: "ReaderWriterLock")
    }
    #else
    /// `lockClass`: the lock's class for `LockDep` (kept only with the
    /// `DebugLocks` trait).
    public init(lot: ParkingLot = .shared, policy: HybridLockPolicy = .hybrid, statistics: LockStatistics? = nil, lockClass: LockClass? = nil) {
        self.lot = lot
        self.policy = policy
        self.statistics = statistics
    }
    #endif

    /// The parking-lot key: this object's address.
    @inlinable var key: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// Whether a thread wanting `mode` may take the lock in state `s` now.
    /// `woken`: the thread was queued and has been woken to retry.
    @inlinable static func canTake(_ mode: LockMode, _ s: UInt64, woken: Bool = false) -> Bool {
        if s & writer != 0 { return false }
        switch mode {
        case .exclusive: return s >> 2 == 0
        // A reader that has not queued does not join while anyone is parked:
        // that is what keeps writers from starving. A woken reader was in
        // the queue itself and may.
        case .shared: return woken || s & parked == 0
        }
    }

    @inlinable static func taken(_ mode: LockMode, _ s: UInt64) -> UInt64 {
        mode == .exclusive ? s | writer : s + oneReader
    }

    // MARK: Public API

    #if DebugLocks
    /// Takes the lock in `mode` only if that needs no wait (``tryLock(_:at:)``
    /// with the caller's site); returns whether it did.
    @inlinable public func tryLock(_ mode: LockMode, file: StaticString = #fileID, line: UInt = #line) -> Bool { tryLock(mode, at: LockSite(file: file, line: line)) }
    /// Takes the lock in `mode`, parking as long as it takes (``lock(_:at:)``
    /// with the caller's site).
    @inlinable public func lock(_ mode: LockMode, file: StaticString = #fileID, line: UInt = #line) { lock(mode, at: LockSite(file: file, line: line)) }
    /// Releases a hold taken in `mode` (``unlock(_:at:)`` with the caller's site).
    @inlinable public func unlock(_ mode: LockMode, file: StaticString = #fileID, line: UInt = #line) { unlock(mode, at: LockSite(file: file, line: line)) }
    #else
    /// Takes the lock in `mode` only if that needs no wait; returns whether it did.
    @inlinable @inline(__always) public func tryLock(_ mode: LockMode) -> Bool { rawTryLock(mode) }
    /// Takes the lock in `mode`, parking as long as it takes.
    @inlinable @inline(__always) public func lock(_ mode: LockMode) { rawLock(mode) }
    /// Releases a hold taken in `mode`, handing the lock over or waking
    /// waiters as the policy says.
    @inlinable @inline(__always) public func unlock(_ mode: LockMode) { rawUnlock(mode) }
    #endif

    /// The lock operations with the caller's site (checked with `DebugLocks`:
    /// shared holds count as acquisitions for the lock order).
    @inlinable @inline(__always) public func tryLock(_ mode: LockMode, at site: LockSite) -> Bool {
        let ok = rawTryLock(mode)
        #if DebugLocks
        if ok { LockDep.acquired(lockClass, instance: key, mode: mode, site: site, isTry: true) }
        #endif
        return ok
    }

    /// Takes the lock in `mode`, parking as long as it takes (shared: beside
    /// other readers; exclusive: alone).
    @inlinable @inline(__always) public func lock(_ mode: LockMode, at site: LockSite) {
        #if DebugLocks
        LockDep.willAcquire(lockClass, instance: key, mode: mode, site: site)
        #endif
        rawLock(mode)
        #if DebugLocks
        LockDep.acquired(lockClass, instance: key, mode: mode, site: site, isTry: false)
        #endif
    }

    /// Releases a hold taken in `mode`, handing the lock over or waking
    /// waiters as the policy says.
    @inlinable @inline(__always) public func unlock(_ mode: LockMode, at site: LockSite) {
        #if DebugLocks
        // A bad unlock that a test's observer consumed changes nothing.
        guard LockDep.willRelease(lockClass, instance: key, mode: mode, site: site) else { return }
        #endif
        rawUnlock(mode)
    }

    @inlinable func rawTryLock(_ mode: LockMode) -> Bool {
        if mode == .exclusive {
            // Common case first: a free word with nobody parked. A constant
            // expected value spares the load before the CAS.
            let (ok, current) = word.compareExchange(
                expected: 0, desired: Self.writer, successOrdering: .acquiring, failureOrdering: .relaxed)
            if ok { return true }
            if !Self.canTake(.exclusive, current) { return false }
        }
        var s = word.load(ordering: .relaxed)
        while Self.canTake(mode, s) {
            let (ok, current) = word.weakCompareExchange(
                expected: s, desired: Self.taken(mode, s),
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if ok { return true }
            s = current
        }
        return false
    }

    @inlinable func rawLock(_ mode: LockMode) {
        if rawTryLock(mode) { return }
        lockSlow(mode)
    }

    @inlinable func rawUnlock(_ mode: LockMode) {
        switch mode {
        case .exclusive:
            // Common case: nobody parked. Constant expected value, no load.
            if word.compareExchange(
                expected: Self.writer, desired: 0, successOrdering: .releasing, failureOrdering: .relaxed
            ).exchanged { return }
            var s = word.load(ordering: .relaxed)
            assert(s & Self.writer != 0, "ReaderWriterLock: exclusive unlock without the lock")
            while s & Self.parked == 0 {
                let (ok, current) = word.weakCompareExchange(
                    expected: s, desired: s & ~Self.writer,
                    successOrdering: .releasing, failureOrdering: .relaxed)
                if ok { return }
                s = current
            }
            wakeWaiters(releasing: .exclusive)
        case .shared:
            let new = word.wrappingSubtract(Self.oneReader, ordering: .releasing).newValue
            assert(new & Self.writer == 0, "ReaderWriterLock: shared unlock under a writer")
            if new >> 2 == 0 && new & Self.parked != 0 {
                wakeWaiters(releasing: .shared)
            }
        }
    }

    /// Whether anyone holds the lock (a racy snapshot for tests).
    public var isLocked: Bool { word.load(ordering: .relaxed) & ~Self.parked != 0 }

    /// Whether the `parked` bit is set: someone is (or was about to be)
    /// parked (a racy snapshot for tests; left set with nobody queued, it
    /// would keep new readers out).
    public var hasParkedBit: Bool { word.load(ordering: .relaxed) & Self.parked != 0 }

    // MARK: Slow paths

    @usableFromInline func lockSlow(_ mode: LockMode) {
        var acquisition = SlowAcquisition(mode: mode)
        while true {
            switch slowStep(&acquisition) {
            case .acquired:
                return
            case .again:
                continue
            case .park(let token, let atFront):
                switch lot.park(key: key, token: token, atFront: atFront, validate: { self.mayPark() }) {
                case .unparked(let token) where token == .handoff:
                    acquisition.acquired(statistics)
                    return
                case .unparked:
                    acquisition.woken = true
                case .invalid, .timedOut:
                    // The lock went free but `parked` is still set: a woken
                    // waiter is about to take it. Let it run.
                    if freeWithParkedBit { folio_thread_yield() }
                }
            }
        }
    }

    /// A slow acquisition in progress: `lockSlow`'s and `lockAsync`'s state
    /// between turns of their loops.
    struct SlowAcquisition {
        let mode: LockMode
        let start = MonotonicClock.nanoseconds()
        /// Races lost after a wake-up (the park token's count).
        var lost: UInt64 = 0
        /// Woken to retry (not handed the lock) by the last park.
        var woken = false
        var spins = 0
        /// When it first parked (0: not yet): the park token's timestamp.
        var firstPark: UInt64 = 0

        init(mode: LockMode) { self.mode = mode }

        func acquired(_ statistics: LockStatistics?) {
            statistics?.recordAcquired(lostRaces: lost, since: start)
        }
    }

    /// What a turn of the slow path decided.
    enum SlowStep {
        case acquired
        /// Look at the word again (a CAS lost, or a spin).
        case again
        /// Park with this token (`parked` is set).
        case park(ParkToken, atFront: Bool)
    }

    /// One turn of the slow path up to a park: takes the lock if the waiter
    /// may, counts a race lost since a wake-up, spins (bounded, before the
    /// first park, while nobody is parked), or sets `parked` and says how to
    /// park. The caller parks — a thread, or a task — and records the result.
    func slowStep(_ a: inout SlowAcquisition) -> SlowStep {
        let s = word.load(ordering: .relaxed)
        if Self.canTake(a.mode, s, woken: a.woken || a.lost > 0) {
            let (ok, _) = word.weakCompareExchange(
                expected: s, desired: Self.taken(a.mode, s),
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if !ok { return .again }
            a.acquired(statistics)
            return .acquired
        }
        if a.woken {
            a.lost += 1
            a.woken = false
            statistics?.lostRaces.wrappingAdd(1, ordering: .relaxed)
        }
        if a.firstPark == 0 && a.spins < policy.spinLimit && s & Self.parked == 0 {
            a.spins += 1
            folio_cpu_relax()
            return .again
        }
        if s & Self.parked == 0 {
            let (ok, _) = word.weakCompareExchange(
                expected: s, desired: s | Self.parked,
                successOrdering: .relaxed, failureOrdering: .relaxed)
            if !ok { return .again }
        }
        if a.firstPark == 0 { a.firstPark = MonotonicClock.nanoseconds() }
        statistics?.parks.wrappingAdd(1, ordering: .relaxed)
        let modeBit: UInt64 = a.mode == .exclusive ? 1 : 0
        return .park(ParkToken(bits: a.lost << 1 | modeBit, timestamp: a.firstPark), atFront: a.lost > 0 && policy.requeueAtFront)
    }

    /// The park's validation (under the bucket lock): park only while the
    /// lock is held (else an unlock may already have passed) and `parked` is
    /// set (else nobody will wake us).
    func mayPark() -> Bool {
        let v = word.load(ordering: .relaxed)
        return v & Self.parked != 0 && (v & Self.writer != 0 || v >> 2 != 0)
    }

    /// Free, with `parked` still set: a woken waiter is about to take it.
    var freeWithParkedBit: Bool {
        let v = word.load(ordering: .relaxed)
        return v & Self.parked != 0 && v & Self.writer == 0 && v >> 2 == 0
    }

    /// Wakes the first parked waiter, or the run of parked readers at the head
    /// of the queue. Called by an exclusive unlock that still holds `writer`
    /// (which it either passes on or drops here), or by the last shared unlock
    /// (the lock is then free, or re-taken by a barger).
    ///
    /// A waiter due a handoff is granted the lock inside the filter, under the
    /// bucket lock, before it is dequeued: a writer gets `writer` (ours, or
    /// taken by CAS from a free word), each reader of the run one reader count.
    /// If the lock is not free for it, it stays queued and nobody is woken: the
    /// holder's release will see `parked` and come back here. A run woken to
    /// retry stops before a reader due a handoff (it stays queued for one).
    @usableFromInline func wakeWaiters(releasing: LockMode) {
        var ownWriter = releasing == .exclusive
        var first = true
        var handoff = false
        var wakingWriter = false
        lot.unparkFilter(
            key: key,
            filter: { token in
                let isWriter = token.bits & 1 == 1
                if first {
                    first = false
                    wakingWriter = isWriter
                    let due = self.policy.mustHandOff(
                        to: ParkToken(bits: token.bits >> 1, timestamp: token.timestamp),
                        now: MonotonicClock.nanoseconds)
                    if !due { return .unpark }
                    if self.grant(isWriter ? .exclusive : .shared, usingOwnWriter: &ownWriter) {
                        handoff = true
                        return .unpark
                    }
                    return .stop
                }
                if wakingWriter || isWriter { return .stop }
                if handoff {
                    // Readers behind a granted reader: the word holds readers,
                    // so no writer can be in; add one count each.
                    self.word.wrappingAdd(Self.oneReader, ordering: .relaxed)
                    return .unpark
                }
                // A run woken to retry is cut short at a reader due a handoff:
                // woken, it could lose one race more than the bound. It stays
                // queued (`parked` stays set, so the run's last release, or a
                // barger's, comes back here) and is handed the lock when it is
                // the head — at the next release, or after a run reader that
                // lost to a barger and requeued at the front has had its own
                // bounded turns.
                let due = self.policy.mustHandOff(
                    to: ParkToken(bits: token.bits >> 1, timestamp: token.timestamp),
                    now: MonotonicClock.nanoseconds)
                return due ? .stop : .unpark
            },
            callback: { result in
                // Under the bucket lock: no parker validates concurrently.
                var clear: UInt64 = result.haveMoreThreads ? 0 : Self.parked
                if ownWriter { clear |= Self.writer }  // not passed on: release it
                if clear != 0 {
                    // Release: our critical section happens-before the next
                    // owner's acquire of the word.
                    self.word.bitwiseAnd(~clear, ordering: .releasing)
                }
                if handoff {
                    self.statistics?.handoffs.wrappingAdd(UInt64(result.unparkedThreads), ordering: .relaxed)
                    return .handoff
                }
                return .retry
            })
    }

    /// Takes the lock in `mode` on behalf of a parked waiter (under the bucket
    /// lock). With `ownWriter`, the caller's writer bit is converted instead.
    @usableFromInline func grant(_ mode: LockMode, usingOwnWriter ownWriter: inout Bool) -> Bool {
        var s = word.load(ordering: .relaxed)
        while true {
            var desired: UInt64
            if ownWriter {
                // We hold `writer`: keep it for a writer, swap it for a reader.
                desired = mode == .exclusive ? s : (s & ~Self.writer) + Self.oneReader
            } else {
                let free = s & Self.writer == 0 && (mode == .shared || s >> 2 == 0)
                if !free { return false }
                desired = mode == .exclusive ? s | Self.writer : s + Self.oneReader
            }
            let (ok, current) = word.weakCompareExchange(
                expected: s, desired: desired,
                successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
            if ok {
                ownWriter = false
                return true
            }
            s = current
        }
    }
}
