import CFolioShims

/// A reader-writer **range lock** over half-open ranges of `UInt64` positions:
/// the lock of the per-range strategy (one per open file, over page indices).
///
/// ## Structure
/// Every request — granted or waiting — is a node in one list kept in arrival
/// order. A new request counts the earlier nodes it conflicts with (they
/// overlap it and at least one of the two is exclusive); that count is its
/// `blocking` number and it is granted when the count reaches zero. Releasing a
/// node decrements the count of every *later* conflicting node and wakes those
/// that reach zero. This is the structure of the Linux range-lock proposals
/// (Bueso, 2017–2019: an interval tree with a per-node blocking count); the
/// Kogan–Dice–Issa list-based range lock (EuroSys 2020) instead keeps only the
/// *granted* ranges in a lock-free sorted list and lets a conflicting request
/// retry, which gives no arrival-order guarantee. Folio's contract asks for
/// arrival order among overlapping ranges, so it takes the counting design and
/// protects the list with a short internal lock (never held while waiting).
///
/// - Guarantees: overlapping conflicting ranges exclude each other; shared
///   ranges overlap; disjoint ranges never wait for each other.
/// - Fairness: strict arrival order among conflicting requests: a request
///   waits only for earlier conflicting ones, so a wide range cannot be starved
///   by a stream of narrow ones (they queue behind it), and vice versa.
/// - Cost: lock and unlock each take the internal lock and walk the list of
///   outstanding requests (O(holders + waiters), small: at most one per
///   thread). Nodes are recycled through a free list (up to 64 per lock), so
///   no allocation once warm. Waiters park in the parking lot on their node's
///   address; a release wakes them while still holding the list lock (lock
///   order: list lock → parking-lot bucket lock).
public final class RangeLock: @unchecked Sendable {
    // @unchecked Sendable: the list, the free list and every node's fields
    // except `blocking` are touched only under `listLock`; `blocking` is read by
    // the waiting thread without it, through C atomics (acquire/release).

    /// An acquired (or, inside the lock, a queued) range. Pass it back to
    /// `unlock`; it is only valid once.
    public struct Token: @unchecked Sendable {
        // @unchecked Sendable: an opaque handle to a node owned by the
        // RangeLock. While the token is held (between lock and unlock) the
        // node's range and mode are immutable, so reading them needs no lock;
        // the list links are touched only under the list lock. A token is
        // valid for exactly one `unlock`; using it afterwards is a programming
        // error (the node may have been recycled).
        @usableFromInline let node: UnsafeMutablePointer<Node>
        /// The range this token holds.
        public var range: Range<UInt64> { node.pointee.lower..<node.pointee.upper }
        public var mode: LockMode { node.pointee.mode }
    }

    @usableFromInline
    struct Node {
        var blocking: UInt32 = 0  // first field: C atomics use the node address
        var mode: LockMode = .shared
        var lower: UInt64 = 0
        var upper: UInt64 = 0
        var prev: UnsafeMutablePointer<Node>? = nil
        var next: UnsafeMutablePointer<Node>? = nil
    }

    @usableFromInline let lot: ParkingLot
    /// Slow-path counters: a request that had to wait counts as a slow
    /// acquisition and, since it is granted by its predecessors' release (never
    /// by racing), as a handoff.
    public let statistics: LockStatistics?
    let listLockWord: UnsafeMutablePointer<UInt32>
    var head: UnsafeMutablePointer<Node>? = nil
    var tail: UnsafeMutablePointer<Node>? = nil
    var free: UnsafeMutablePointer<Node>? = nil
    var freeCount = 0
    static let maxFree = 64

    public init(lot: ParkingLot = .shared, statistics: LockStatistics? = nil) {
        self.lot = lot
        self.statistics = statistics
        listLockWord = .allocate(capacity: 1)
        listLockWord.initialize(to: 0)
        assert(MemoryLayout<Node>.offset(of: \Node.blocking) == 0)
    }

    deinit {
        assert(head == nil, "RangeLock destroyed while ranges are held")
        while let n = free {
            free = n.pointee.next
            n.deinitialize(count: 1)
            n.deallocate()
        }
        var cur = head
        while let n = cur {
            cur = n.pointee.next
            n.deinitialize(count: 1)
            n.deallocate()
        }
        listLockWord.deallocate()
    }

    var listLock: RawWordMutex { RawWordMutex(word: listLockWord) }

    static func blockingWord(_ n: UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(n).assumingMemoryBound(to: UInt32.self)
    }

    // MARK: Public API

    /// Acquires `range` in `mode`, waiting behind every earlier conflicting
    /// request. An empty range is granted at once and conflicts with nothing.
    public func lock(_ range: Range<UInt64>, _ mode: LockMode) -> Token {
        let node = enqueue(range, mode, onlyIfFree: false).unsafelyUnwrapped
        waitUntilGranted(node, deadline: nil)
        return Token(node: node)
    }

    /// Acquires `range` or gives up after `timeout` (returns nil, holding
    /// nothing, and no longer blocking later requests).
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration) -> Token? {
        let start = MonotonicClock.nanoseconds()
        let deadline = start &+ min(timeout.clampedNanoseconds, UInt64.max / 2)
        let node = enqueue(range, mode, onlyIfFree: false).unsafelyUnwrapped
        if waitUntilGranted(node, deadline: deadline) { return Token(node: node) }
        // Leaving the queue is exactly a release: later requests that counted
        // us stop counting us. (If we were granted at the last moment, this
        // simply releases the range.)
        release(node)
        return nil
    }

    /// Acquires `range` only if no earlier request conflicts with it. Never waits.
    public func tryLock(_ range: Range<UInt64>, _ mode: LockMode) -> Token? {
        enqueue(range, mode, onlyIfFree: true).map(Token.init(node:))
    }

    /// Releases a range acquired by `lock` or `tryLock`.
    public func unlock(_ token: Token) {
        release(token.node)
    }

    /// Requests currently in the list (granted or waiting). For tests.
    public var outstandingCount: Int {
        listLock.lock()
        defer { listLock.unlock() }
        var count = 0
        var cur = head
        while let n = cur { count += 1; cur = n.pointee.next }
        return count
    }

    // MARK: Internals

    @inline(__always)
    static func conflict(_ a: UnsafeMutablePointer<Node>, _ lower: UInt64, _ upper: UInt64, _ mode: LockMode) -> Bool {
        // Field by field: `blocking` is not read here (its owner reads it
        // concurrently through atomics).
        // Empty ranges conflict with nothing, on either side.
        let nLower = a.pointee.lower, nUpper = a.pointee.upper
        return nLower < nUpper && lower < upper && nLower < upper && lower < nUpper
            && a.pointee.mode.conflicts(with: mode)
    }

    /// Appends a node for the request and sets its blocking count. With
    /// `onlyIfFree`, appends nothing and returns nil if any request conflicts.
    func enqueue(_ range: Range<UInt64>, _ mode: LockMode, onlyIfFree: Bool) -> UnsafeMutablePointer<Node>? {
        let lower = range.lowerBound, upper = range.upperBound
        listLock.lock()
        var count: UInt32 = 0
        if lower < upper {
            var cur = head
            while let n = cur {
                if Self.conflict(n, lower, upper, mode) {
                    if onlyIfFree {
                        listLock.unlock()
                        return nil
                    }
                    count += 1
                }
                cur = n.pointee.next
            }
        }
        let node: UnsafeMutablePointer<Node>
        if let f = free {
            free = f.pointee.next
            freeCount -= 1
            node = f
        } else {
            node = .allocate(capacity: 1)
            node.initialize(to: Node())
        }
        node.pointee.mode = mode
        node.pointee.lower = lower
        node.pointee.upper = upper
        node.pointee.next = nil
        node.pointee.prev = tail
        folio_atomic_store_relaxed(Self.blockingWord(node), count)
        if let t = tail { t.pointee.next = node } else { head = node }
        tail = node
        listLock.unlock()
        return node
    }

    /// Parks until the node's blocking count is zero. Returns false at the
    /// deadline if still blocked.
    @discardableResult
    func waitUntilGranted(_ node: UnsafeMutablePointer<Node>, deadline: UInt64?) -> Bool {
        let word = Self.blockingWord(node)
        if folio_atomic_load_acquire(word) == 0 { return true }
        let start = MonotonicClock.nanoseconds()
        let key = UInt(bitPattern: node)
        // Acquire pairs with the releasing decrement in `release`, so the
        // previous holder's writes are visible once we see zero.
        while folio_atomic_load_acquire(word) != 0 {
            var timeout: Duration? = nil
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                if now >= deadline {
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
                timeout = .nanoseconds(Int64(clamping: deadline - now))
            }
            // Validate under the bucket lock: a releaser decrements first and
            // unparks after, so either we see zero here or it finds us queued.
            // Spurious wake-ups (a recycled node's address) just loop.
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            _ = lot.park(key: key, timeout: timeout, validate: { folio_atomic_load_acquire(word) != 0 })
        }
        statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
        statistics?.recordAcquired(lostRaces: 0, since: start)
        return true
    }

    func release(_ node: UnsafeMutablePointer<Node>) {
        listLock.lock()
        let lower = node.pointee.lower, upper = node.pointee.upper, mode = node.pointee.mode
        if lower < upper {
            var cur = node.pointee.next
            while let n = cur {
                if Self.conflict(n, lower, upper, mode) {
                    let w = Self.blockingWord(n)
                    let v = folio_atomic_load_relaxed(w)
                    precondition(v > 0, "RangeLock: blocking count underflow")
                    // Release pairs with the waiter's acquire load of zero.
                    folio_atomic_store_release(w, v - 1)
                    if v == 1 {
                        // Unpark while still holding the list lock (lock order:
                        // list lock → bucket lock): the node cannot be released,
                        // recycled or freed until we drop it, so this wake can
                        // never reach an unrelated thread parked on a reused
                        // address.
                        lot.unparkOne(key: UInt(bitPattern: n))
                    }
                }
                cur = n.pointee.next
            }
        }
        if let p = node.pointee.prev { p.pointee.next = node.pointee.next } else { head = node.pointee.next }
        if let n = node.pointee.next { n.pointee.prev = node.pointee.prev } else { tail = node.pointee.prev }
        if freeCount < Self.maxFree {
            node.pointee.next = free
            node.pointee.prev = nil
            free = node
            freeCount += 1
            listLock.unlock()
        } else {
            listLock.unlock()
            node.deinitialize(count: 1)
            node.deallocate()
        }
    }
}
