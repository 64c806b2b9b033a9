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
/// - Fairness: eventually fair, like the hybrid bit lock. New readers do not
///   join a held read lock while anyone is parked, so a stream of readers
///   cannot starve a writer. Bargers may take a free lock; a parked waiter that
///   has lost `policy.unfairness` races or waited `policy.maxWait` gets the
///   lock handed to it (a run of parked readers is handed it together). A
///   handoff after the last *reader* leaves can be pre-empted by a barger, so
///   the lost-race bound is strict only for handoffs from a writer.
/// - Cost: 8 bytes of word plus the object header, per file; uncontended
///   read or write acquire = one load + one CAS, release = one atomic.
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

    public init(lot: ParkingLot = .shared, policy: HybridLockPolicy = .hybrid, statistics: LockStatistics? = nil) {
        self.lot = lot
        self.policy = policy
        self.statistics = statistics
    }

    /// The parking-lot key: this object's address.
    @inlinable var key: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// Whether a thread wanting `mode` may take the lock in state `s` now.
    @inlinable static func canTake(_ mode: LockMode, _ s: UInt64) -> Bool {
        if s & writer != 0 { return false }
        let readers = s >> 2
        switch mode {
        case .exclusive: return readers == 0
        // Readers do not join readers while someone is parked (a writer,
        // usually): that is what keeps writers from starving.
        case .shared: return readers == 0 || s & parked == 0
        }
    }

    @inlinable static func taken(_ mode: LockMode, _ s: UInt64) -> UInt64 {
        mode == .exclusive ? s | writer : s + oneReader
    }

    // MARK: Public API

    @inlinable public func tryLock(_ mode: LockMode) -> Bool {
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

    @inlinable public func lock(_ mode: LockMode) {
        if tryLock(mode) { return }
        lockSlow(mode)
    }

    @inlinable public func unlock(_ mode: LockMode) {
        switch mode {
        case .exclusive:
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

    // MARK: Slow paths

    @usableFromInline func lockSlow(_ mode: LockMode) {
        let start = MonotonicClock.nanoseconds()
        var lost: UInt64 = 0
        var woken = false
        var spins = 0
        var firstPark: UInt64 = 0
        let modeBit: UInt64 = mode == .exclusive ? 1 : 0
        while true {
            let s = word.load(ordering: .relaxed)
            if Self.canTake(mode, s) {
                let (ok, _) = word.weakCompareExchange(
                    expected: s, desired: Self.taken(mode, s),
                    successOrdering: .acquiring, failureOrdering: .relaxed)
                if ok {
                    statistics?.recordAcquired(lostRaces: lost, since: start)
                    return
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
            let result = lot.park(
                key: key,
                token: ParkToken(bits: lost << 1 | modeBit, timestamp: firstPark),
                atFront: lost > 0 && policy.requeueAtFront,
                // Park only while the lock is held (else an unlock may already
                // have passed) and `parked` is set (else nobody will wake us).
                validate: {
                    let v = self.word.load(ordering: .relaxed)
                    return v & Self.parked != 0 && (v & Self.writer != 0 || v >> 2 != 0)
                })
            switch result {
            case .unparked(let token) where token == .handoff:
                statistics?.recordAcquired(lostRaces: lost, since: start)
                return
            case .unparked:
                woken = true
            case .invalid, .timedOut:
                break
            }
        }
    }

    /// Wakes the first parked waiter, or the run of parked readers at the head
    /// of the queue. Called by an exclusive unlock that still holds `writer`,
    /// or by the last shared unlock (the lock is then free, or re-taken by a
    /// barger).
    @usableFromInline func wakeWaiters(releasing: LockMode) {
        var first = true
        var handoff = false
        var wakingWriter = false
        lot.unparkFilter(
            key: key,
            filter: { token in
                let isWriter = token.bits & 1 == 1
                if first {
                    first = false
                    handoff = self.policy.mustHandOff(
                        to: ParkToken(bits: token.bits >> 1, timestamp: token.timestamp),
                        now: MonotonicClock.nanoseconds)
                    wakingWriter = isWriter
                    return .unpark
                }
                return wakingWriter || isWriter ? .stop : .unpark
            },
            callback: { result in
                // Under the bucket lock: no parker validates concurrently.
                let keepParked = result.haveMoreThreads ? 0 : Self.parked
                let n = UInt64(result.unparkedThreads)
                var s = self.word.load(ordering: .relaxed)
                while true {
                    var desired: UInt64
                    var token = UnparkToken.retry
                    if releasing == .exclusive {
                        desired = s & ~Self.writer
                    } else {
                        desired = s
                    }
                    desired &= ~keepParked
                    let free = desired & Self.writer == 0 && desired >> 2 == 0
                    if handoff && n > 0 && free {
                        desired = wakingWriter ? desired | Self.writer : desired + n * Self.oneReader
                        token = .handoff
                    }
                    let (ok, current) = self.word.weakCompareExchange(
                        expected: s, desired: desired,
                        successOrdering: .acquiringAndReleasing, failureOrdering: .relaxed)
                    if ok {
                        if token == .handoff { self.statistics?.handoffs.wrappingAdd(n, ordering: .relaxed) }
                        return token
                    }
                    s = current
                }
            })
    }
}
