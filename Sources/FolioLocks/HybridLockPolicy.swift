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
    public var requeueAtFront: Bool
    /// At most this many threads spin at once, over all hybrid locks of the
    /// process (nil: no cap). With more runnable threads than cores, a
    /// spinner burns the CPU the lock holder needs; a cap of `cores - 1`
    /// keeps spinning to where it can pay off. A thread that finds every
    /// slot taken parks at once.
    public var maxSpinners: Int?

    /// `unfairness` value meaning "no bound".
    public static let unbounded = UInt64.max

    public init(spinLimit: Int = 40, unfairness: UInt64 = 5, maxWait: Duration? = .milliseconds(1), requeueAtFront: Bool = true,
                maxSpinners: Int? = nil) {
        self.spinLimit = max(0, spinLimit)
        self.unfairness = unfairness
        self.maxWait = maxWait
        self.requeueAtFront = requeueAtFront
        self.maxSpinners = maxSpinners.map { max(0, $0) }
    }

    /// The default hybrid: a short spin, at most 5 lost races, at most 1 ms.
    public static let hybrid = HybridLockPolicy()
    /// Strict FIFO handoff and no spinning: the Linux 5.9 page lock.
    public static let fair = HybridLockPolicy(spinLimit: 0, unfairness: 0, maxWait: nil)
    /// No bound at all: wake one waiter and let it race (with the hybrid's spin).
    public static let barging = HybridLockPolicy(unfairness: unbounded, maxWait: nil)

    @usableFromInline var maxWaitNanoseconds: UInt64? { maxWait.map { $0.clampedNanoseconds } }

    /// Whether the first parked waiter, described by its park token, must get
    /// the lock handed to it. `now` is read only when the count bound did not
    /// already decide.
    @inlinable
    func mustHandOff(to token: ParkToken, now: () -> UInt64) -> Bool {
        if token.bits >= unfairness { return true }
        if let limit = maxWaitNanoseconds {
            let t = now()
            return t >= token.timestamp && t - token.timestamp >= limit
        }
        return false
    }

    public var description: String {
        let u = unfairness == Self.unbounded ? "unbounded" : String(unfairness)
        let w = maxWait.map { "\($0)" } ?? "unbounded"
        let m = maxSpinners.map(String.init) ?? "unbounded"
        return "spinLimit=\(spinLimit) unfairness=\(u) maxWait=\(w) requeue=\(requeueAtFront ? "front" : "back") maxSpinners=\(m)"
    }
}
