/// What a parked thread tells whoever may unpark it. The parking lot only
/// stores it; its meaning belongs to the lock that parked the thread (for
/// example: shared or exclusive, how many races the waiter has lost, when it
/// first parked).
public struct ParkToken: Sendable, Equatable {
    /// Lock-defined bits (a mode, a lost-race count, …).
    public var bits: UInt64
    /// Lock-defined timestamp, usually `MonotonicClock.nanoseconds()` at the
    /// waiter's first park.
    public var timestamp: UInt64

    /// A token of the given bits and timestamp (both zero by default).
    @inlinable public init(bits: UInt64 = 0, timestamp: UInt64 = 0) {
        self.bits = bits
        self.timestamp = timestamp
    }
}

/// What an unparker hands to the thread it wakes, chosen under the bucket lock.
/// Locks use it to say "the lock is yours" (a direct handoff) versus "retry".
public struct UnparkToken: Sendable, Equatable, RawRepresentable {
    /// The token's value: 0 `retry`, 1 `handoff`; a lock may define others.
    public var rawValue: UInt64
    /// The token of value `rawValue`.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The woken thread must compete for the lock again (barging).
    public static let retry = UnparkToken(rawValue: 0)
    /// The lock was handed to the woken thread: it owns it on return.
    public static let handoff = UnparkToken(rawValue: 1)
}

/// How a `park` call ended.
public enum ParkResult: Sendable, Equatable {
    /// Another thread unparked this one and passed it this token.
    case unparked(UnparkToken)
    /// `validate` returned false under the bucket lock; the thread never slept.
    case invalid
    /// The timeout expired before anyone unparked the thread.
    case timedOut
}

/// What an unpark call did, passed to its callback while the bucket lock is
/// still held (so the lock state can be updated atomically with the queue).
public struct UnparkResult: Sendable, Equatable {
    /// How many threads this call takes out of the queue.
    public var unparkedThreads: Int
    /// Whether threads parked on the same key remain queued after this call.
    public var haveMoreThreads: Bool
    /// The park token of the first thread unparked, if any.
    public var firstToken: ParkToken?

    /// A result with the given fields.
    @inlinable public init(unparkedThreads: Int, haveMoreThreads: Bool, firstToken: ParkToken?) {
        self.unparkedThreads = unparkedThreads
        self.haveMoreThreads = haveMoreThreads
        self.firstToken = firstToken
    }
}

/// A filter's verdict on one parked thread, in queue order.
public enum UnparkFilterDecision: Sendable {
    /// Unpark this thread and keep looking.
    case unpark
    /// Leave this thread parked and keep looking.
    case skip
    /// Leave this thread and all behind it parked.
    case stop
}
