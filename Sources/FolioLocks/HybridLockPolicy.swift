/// The tunables of the hybrid-fair lock: how long to spin before parking, and
/// the two bounds on unfairness after which an unlocker hands the lock directly
/// to the first parked thread instead of letting it race for it.
public struct HybridLockPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Spin iterations (each a `pause`) before parking. Spinning happens only
    /// while no thread is parked on the lock: once somebody sleeps, a newcomer
    /// queues behind it instead of burning a core it could have used.
    public var spinLimit: Int
    /// How many races a woken waiter may lose before the next unlocker hands it
    /// the lock. 0 is strict FIFO handoff (the Linux 5.9 page lock);
    /// `HybridLockPolicy.unbounded` never hands off (pure barging).
    public var unfairness: UInt64
    /// A waiter parked at least this long is due a handoff whatever its
    /// lost-race count: the next unlock that finds the bit free for it hands it
    /// over. Checked for the first waiter in the queue only. `nil`: no time
    /// bound.
    public var maxWait: Duration?
    /// Where a waiter that lost a race re-queues: ahead of the other waiters
    /// (true, so the lost-race bound is reached promptly) or behind them.
    /// Under restriction only a due waiter re-queues ahead, behind the older
    /// due waiters.
    public var requeueAtFront: Bool
    /// At most this many threads spin at once, over all hybrid locks of the
    /// process (nil: no cap). With more runnable threads than cores, a
    /// spinner burns the CPU the lock holder needs; a cap of `cores - 1`
    /// keeps spinning to where it can pay off. A thread that finds every
    /// slot taken parks at once.
    public var maxSpinners: Int?
    /// At most one woken waiter per lock is awake at a time (Go 1.24's
    /// runtime mutex: an unlock skips the wake while someone is already up
    /// to take the lock). A waiter woken to retry carries a mark (kept in
    /// its parking-lot bucket, under the bucket lock) until it takes the
    /// lock or parks again; an unlock that finds the mark of its lock wakes
    /// nobody, since that waiter will see the free bit. Due handoffs are
    /// unaffected. With more runnable threads than cores this keeps woken
    /// waiters from crowding the run queue.
    public var singleWaker: Bool
    /// After handing the lock to a parked waiter, the unlocker yields its
    /// CPU (`sched_yield`) so the new owner can run at once (Go
    /// `sync.Mutex` in starvation mode yields its time slice to the waiter
    /// it hands off to).
    public var yieldOnHandoff: Bool
    /// Waking ahead (ShflLock): a waiter that parks already due a handoff
    /// spins up to this many `pause`s on its own queue entry before
    /// sleeping, so that the handoff finds it running; and an unlock that
    /// finds the first waiter due while it sleeps wakes it ahead (once per
    /// waiter: it parks again, due and spinning, and the next unlock hands it
    /// the lock) instead of handing the lock to a sleeper, which would hold
    /// the lock idle for a whole wake-up. A woken-ahead waiter that finds the
    /// bit taken has not lost a race. 0: off.
    public var handoffSpin: Int
    /// Concurrency restriction (Malthusian locks; Go 1.24's runtime mutex):
    /// at most one thread spins for a held lock, up to this many `pause`s
    /// and only while another waiter sleeps, and every other waiter (the
    /// first one included) parks at once and stays parked — an unlock
    /// wakes nobody while someone spins — until it is due (`maxWait`
    /// parked, or `unfairness` lost races) and the next unlock hands it the
    /// lock. With more threads than cores this keeps the runnable set near
    /// the owner and one spinner. Replaces `spinLimit`, `maxSpinners` and
    /// `singleWaker` while on; needs `unfairness > 0` and a `maxWait`. 0: off
    /// (docs/locking.md, "Concurrency restriction").
    public var restrictSpin: Int

    /// `unfairness` value meaning "no bound".
    public static let unbounded = UInt64.max

    /// The defaults are `HybridLockPolicy.hybrid`'s: no spinning, at most 5
    /// lost races or 1 ms, waking ahead with a 2000-`pause` spin
    /// (docs/fairness.md, "The hybrid bounded in time").
    public init(spinLimit: Int = 0, unfairness: UInt64 = 5, maxWait: Duration? = .milliseconds(1), requeueAtFront: Bool = true,
                maxSpinners: Int? = nil, singleWaker: Bool = false, yieldOnHandoff: Bool = false, handoffSpin: Int = 2_000,
                restrictSpin: Int = 0) {
        self.spinLimit = max(0, spinLimit)
        self.unfairness = unfairness
        self.maxWait = maxWait
        self.requeueAtFront = requeueAtFront
        self.maxSpinners = maxSpinners.map { max(0, $0) }
        self.singleWaker = singleWaker
        self.yieldOnHandoff = yieldOnHandoff
        self.handoffSpin = max(0, handoffSpin)
        self.restrictSpin = max(0, restrictSpin)
    }

    /// Whether concurrency restriction is on: `restrictSpin > 0`, with a
    /// lost-race bound (strict FIFO has no spinner to restrict) and a time
    /// bound (a parked waiter's own clock is what rotates it in: without
    /// one, a waiter could stay parked while the owner and the spinner
    /// pass the lock between them).
    @inlinable public var isRestricted: Bool { restrictSpin > 0 && unfairness > 0 && maxWait != nil }

    /// The default hybrid, the variant that won the sweep of docs/fairness.md
    /// on a 2-core machine with 8–16 threads: no optimistic spinning, at most
    /// 5 lost races or 1 ms parked, and a due waiter woken ahead of its
    /// handoff (spinning up to 2000 `pause`s) so that the handoff finds it
    /// running.
    public static let hybrid = HybridLockPolicy()
    /// The kernel-faithful hybrid (Linux 5.9+'s page lock after the fix):
    /// spin 40, at most 5 lost races, no time bound, no cap on spinners.
    /// Kept so the comparison with the default stays runnable
    /// (`hybrid-kernel` in folio-load and configuration files).
    public static let kernel = HybridLockPolicy(spinLimit: 40, unfairness: 5, maxWait: nil, handoffSpin: 0)
    /// Concurrency restriction (`restrictSpin`): one spinner (1000
    /// `pause`s, yielding every 64), every other waiter parked until due
    /// — 5 lost races or 1 ms — and then handed the lock (in folio-load and
    /// configuration files: `hybrid-fair` with `restrict-spin = 1000`).
    public static let restricted = HybridLockPolicy(spinLimit: 0, unfairness: 5, maxWait: .milliseconds(1), handoffSpin: 2_000, restrictSpin: 1_000)
    /// Strict FIFO handoff and no spinning: the Linux 5.9 page lock.
    public static let fair = HybridLockPolicy(spinLimit: 0, unfairness: 0, maxWait: nil, handoffSpin: 0)
    /// No bound at all: wake one waiter and let it race (with the hybrid's spin).
    public static let barging = HybridLockPolicy(spinLimit: 40, unfairness: unbounded, maxWait: nil, handoffSpin: 0)

    @usableFromInline var maxWaitNanoseconds: UInt64? { maxWait.map { $0.clampedNanoseconds } }

    /// Whether the first parked waiter, described by its park token, must get
    /// the lock handed to it. `now` is read only when the count bound did not
    /// already decide.
    @inlinable
    func mustHandOff(to token: ParkToken, now: () -> UInt64) -> Bool {
        if token.lostRaces >= unfairness { return true }
        if let limit = maxWaitNanoseconds {
            let t = now()
            return t >= token.timestamp && t - token.timestamp >= limit
        }
        return false
    }

    /// Every tunable on one line (`spinLimit=… unfairness=… maxWait=… …`).
    public var description: String {
        let u = unfairness == Self.unbounded ? "unbounded" : String(unfairness)
        let w = maxWait.map { "\($0)" } ?? "unbounded"
        let m = maxSpinners.map(String.init) ?? "unbounded"
        return "spinLimit=\(spinLimit) unfairness=\(u) maxWait=\(w) requeue=\(requeueAtFront ? "front" : "back") maxSpinners=\(m)"
            + (singleWaker ? " singleWaker" : "") + (yieldOnHandoff ? " yieldOnHandoff" : "")
            + (handoffSpin > 0 ? " handoffSpin=\(handoffSpin)" : "")
            + (restrictSpin > 0 ? " restrictSpin=\(restrictSpin)" : "")
    }
}

extension ParkToken {
    /// The hybrid lock's use of a park token's bits: the waiter's lost races
    /// in the low 24 bits; bit 24: it spins before sleeping (parked already
    /// due a handoff); bit 25: it has been woken ahead once; in the high 32
    /// bits the unlocks that found it due a handoff but could not give it the
    /// lock (a barger held the bit). Under restriction, bit 26: it asked for
    /// attention (`BitLockBits.attention`); bit 27: it is a task.
    @inlinable var lostRaces: UInt64 { bits & 0xFF_FFFF }
    @inlinable var spinsBeforeSleep: Bool { bits & (1 << 24) != 0 }
    @inlinable var wokenAhead: Bool { bits & (1 << 25) != 0 }
    @inlinable var attention: Bool { bits & (1 << 26) != 0 }
    @inlinable var isTask: Bool { bits & (1 << 27) != 0 }
    @inlinable var deferredHandoffs: UInt64 { bits >> 32 }
    @inlinable init(lostRaces: UInt64, firstPark: UInt64, spinsBeforeSleep: Bool = false, wokenAhead: Bool = false,
                    attention: Bool = false, isTask: Bool = false) {
        self.init(bits: min(lostRaces, 0xFF_FFFF) | (spinsBeforeSleep ? 1 << 24 : 0) | (wokenAhead ? 1 << 25 : 0)
                    | (attention ? 1 << 26 : 0) | (isTask ? 1 << 27 : 0),
                  timestamp: firstPark)
    }
}
