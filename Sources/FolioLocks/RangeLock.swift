import CFolioShims
#if canImport(Glibc)
import Glibc
#endif

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
/// ## The fast path (no internal lock)
/// While no request is queued in the list (`slowCount` is zero), a range —
/// shared or exclusive — is taken by publishing it in one of `fastSlotCount`
/// slots of its mode (each a cache-line pair of its own: one compare-and-swap on
/// a slot, starting at the one of the processor the thread runs on), then
/// checking that the list is still empty and that no other published range
/// conflicts with it — a shared request looks at the exclusive slots only, an
/// exclusive one at both kinds; it is released by clearing the slot (a
/// releasing store where membarrier(2) is registered, `asymmetricFences`;
/// else one exchange) and a load of `slowCount`. So readers of one range on
/// different processors write only their own slot lines and read only lines nobody
/// writes while no writer comes: they share no written line. Publish-then-
/// check on both sides, sequentially consistent, is Dekker's protocol: of two
/// conflicting fast requests at least one sees the other (and both may: each
/// withdraws and takes the list), and of a fast request and a list request at
/// least one sees the other. A request that finds a conflict, a queued
/// request, no free slot or a range that does not pack into a slot word
/// (bounds past 2^42 or 2^20 positions long, e.g. truncate's `[n, ∞)`) takes
/// the list. A list request announces itself (`slowCount += 1`) before it
/// looks at the slots and waits, besides its earlier list conflicts, for every
/// conflicting published range; from its announcement on, no new fast request
/// is granted (they queue in the list behind it), so FIFO among overlapping
/// requests holds across both paths: a queued exclusive range waits only for
/// the ranges granted before it arrived. A fast release that sees a queued
/// request takes the list lock and wakes the queued conflicting requests whose
/// list count is zero.
///
/// - Cost: uncontended, a fast lock is a load, a CAS and a load plus a scan of
///   the exclusive slot words (and, exclusive, the shared ones), and an
///   unlock a store and a load (an exchange and a load without membarrier),
///   all on this lock's own lines: two threads on disjoint ranges of one
///   file touch the lock's shared memory only to read it, and two readers do
///   not even read each other's slots. The list path:
///   lock and unlock each take the internal lock and walk the list of
///   outstanding requests (O(holders + waiters), small: at most one per
///   thread). Nodes are recycled through a free list (up to 64 per lock), so
///   no allocation once warm. Waiters park in the parking lot on their node's
///   address; a release wakes them while still holding the list lock (lock
///   order: list lock → parking-lot bucket lock). Memory: the list lock word,
///   and `2 × fastSlotCount + 1` pairs of cache lines for the slots and
///   `slowCount` (1 152 bytes with 4 slots per mode — up to 4 processors —
///   and 4 224 with 16).
public final class RangeLock: @unchecked Sendable {
    // @unchecked Sendable: the list, the free list and every node's fields
    // except `blocking` are touched only under `listLock`; `blocking` is read by
    // the waiting thread without it, through C atomics (acquire/release). The
    // fast slots and `slowCount` (in `fastWords`) are touched only through C
    // atomics (sequentially consistent where the Dekker protocol needs it).

    /// An acquired (or, inside the lock, a queued) range. Pass it back to
    /// `unlock`; it is only valid once.
    public struct Token: @unchecked Sendable {
        // @unchecked Sendable: an opaque handle to a node or a fast slot owned
        // by the RangeLock, plus the range and mode (values). While the token
        // is held (between lock and unlock) the node's range and mode are
        // immutable and the slot is this holder's; the list links are touched
        // only under the list lock, the slot only atomically. A token is
        // valid for exactly one `unlock`; using it afterwards is a programming
        // error (the node may have been recycled, the slot reused).
        /// The list node (list path), or nil (fast path).
        @usableFromInline let node: UnsafeMutablePointer<Node>?
        /// The fast slot holding the range (fast path), or nil.
        @usableFromInline let slot: UnsafeMutablePointer<UInt64>?
        /// The range this token holds.
        public let range: Range<UInt64>
        /// The mode the range is held in.
        public let mode: LockMode

        init(node: UnsafeMutablePointer<Node>) {
            self.node = node
            self.slot = nil
            self.range = node.pointee.lower..<node.pointee.upper
            self.mode = node.pointee.mode
        }

        init(slot: UnsafeMutablePointer<UInt64>, range: Range<UInt64>, mode: LockMode) {
            self.node = nil
            self.slot = slot
            self.range = range
            self.mode = mode
        }

        /// Whether the range was granted on the fast path (no internal lock).
        public var isFastPath: Bool { slot != nil }

        /// A unique identity while held (the checker's instance).
        var instance: UInt { slot.map { UInt(bitPattern: $0) } ?? node.map { UInt(bitPattern: $0) } ?? 0 }
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

    /// Fast slots per lock and mode (a power of two): at most this many
    /// shared and this many exclusive ranges are held on the fast path at
    /// once; more take the list. The processors online rounded up to a power
    /// of two, 4 to 16: a scan reads every slot of the modes it checks, so
    /// slots that threads running at once cannot fill only cost time (with
    /// 8 per mode on 2 cores an exclusive lock + unlock took 15 ns, with 4
    /// 9 ns).
    public static let fastSlotCount: Int = {
        let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var n = 4
        while n < online && n < 16 { n <<= 1 }
        return n
    }()
    /// `fastSlotCount`, read once per lock (a stored property beside
    /// `fastWords`: no global access on the fast path).
    let slotsPerMode: Int
    /// Whether this process releases fast ranges with a plain store
    /// (`asymmetricFences`), read once per lock like `slotsPerMode`.
    let plainRelease: Bool
    /// Every fast slot: `slotsPerMode` shared ones, then as many exclusive.
    var allSlotCount: Int { 2 * slotsPerMode }
    /// Words per slot: two cache lines, so that no two slots (nor a slot and
    /// `slowCount`) share the 128-byte pair that adjacent-line prefetch
    /// fetches together.
    static let lineWords = 16
    /// `slowCount` (word 0: requests in the list, granted or waiting) and
    /// then the fast slots, one cache line each, line-aligned: the shared
    /// slots, then the exclusive ones. A slot word is 0 (free) or a packed
    /// range (`pack`).
    let fastWords: UnsafeMutablePointer<UInt64>
    var slowCountWord: UnsafeMutablePointer<UInt64> { fastWords }
    @inline(__always) func slotWord(_ i: Int) -> UnsafeMutablePointer<UInt64> { fastWords + (i &+ 1) &* Self.lineWords }

    #if DebugLocks
    /// The lock's class for `LockDep` (only with the `DebugLocks` trait).
    public let lockClass: LockClass

    /// `lockClass`: the class for `LockDep` (kept only with the `DebugLocks`
    /// trait); nil gives it the class of the line creating it.
    public init(lot: ParkingLot = .shared, statistics: LockStatistics? = nil,
                lockClass: LockClass? = nil, file: StaticString = #fileID, line: UInt = #line) {
        self.lockClass = lockClass ?? LockClass(createdAt: file, line: line, kind: "RangeLock")
        self.lot = lot
        self.statistics = statistics
        listLockWord = .allocate(capacity: 1)
        listLockWord.initialize(to: 0)
        slotsPerMode = Self.fastSlotCount
        plainRelease = Self.asymmetricFences
        fastWords = Self.allocateFastWords(slotsPerMode: slotsPerMode)
        assert(MemoryLayout<Node>.offset(of: \Node.blocking) == 0)
    }
    #else
    /// `lockClass`: the class for `LockDep` (kept only with the `DebugLocks`
    /// trait).
    public init(lot: ParkingLot = .shared, statistics: LockStatistics? = nil, lockClass: LockClass? = nil) {
        self.lot = lot
        self.statistics = statistics
        listLockWord = .allocate(capacity: 1)
        listLockWord.initialize(to: 0)
        slotsPerMode = Self.fastSlotCount
        plainRelease = Self.asymmetricFences
        fastWords = Self.allocateFastWords(slotsPerMode: slotsPerMode)
        assert(MemoryLayout<Node>.offset(of: \Node.blocking) == 0)
    }
    #endif

    deinit {
        assert(head == nil, "RangeLock destroyed while ranges are held")
        assert((0..<allSlotCount).allSatisfy { slotWord($0).pointee == 0 }, "RangeLock destroyed while fast ranges are held")
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
        fastWords.deinitialize(count: (allSlotCount + 1) * Self.lineWords)
        fastWords.deallocate()
    }

    var listLock: RawWordMutex { RawWordMutex(word: listLockWord, lockClass: .rangeLockList) }

    static func blockingWord(_ n: UnsafeMutablePointer<Node>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(n).assumingMemoryBound(to: UInt32.self)
    }

    // MARK: Public API

    #if DebugLocks
    /// Acquires `range` in `mode` (``lock(_:_:at:)`` with the caller's site).
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, file: StaticString = #fileID, line: UInt = #line) -> Token {
        lock(range, mode, at: LockSite(file: file, line: line))
    }
    /// Acquires `range` or gives up after `timeout` (``lock(_:_:timeout:at:)``
    /// with the caller's site).
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration, file: StaticString = #fileID, line: UInt = #line) -> Token? {
        lock(range, mode, timeout: timeout, at: LockSite(file: file, line: line))
    }
    /// Acquires `range` only if nothing earlier conflicts (``tryLock(_:_:at:)``
    /// with the caller's site).
    public func tryLock(_ range: Range<UInt64>, _ mode: LockMode, file: StaticString = #fileID, line: UInt = #line) -> Token? {
        tryLock(range, mode, at: LockSite(file: file, line: line))
    }
    /// Releases a range (``unlock(_:at:)`` with the caller's site).
    public func unlock(_ token: Token, file: StaticString = #fileID, line: UInt = #line) {
        unlock(token, at: LockSite(file: file, line: line))
    }

    /// The checker's view of a range: ranges of one lock are ordered by
    /// position (ascending, not overlapping), like folios.
    func debugOrder(_ range: Range<UInt64>) -> LockDep.Order {
        LockDep.Order(domain: UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()), start: range.lowerBound, end: range.upperBound)
    }
    /// Acquires `range` in `mode`, waiting behind every earlier conflicting
    /// request. An empty range is granted at once and conflicts with nothing.
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, at site: LockSite) -> Token { lockBody(range, mode, site) }
    /// Acquires `range` or gives up after `timeout` (returns nil, holding
    /// nothing, and no longer blocking later requests).
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration, at site: LockSite) -> Token? {
        lockBody(range, mode, timeout: timeout, site)
    }
    /// Acquires `range` only if no earlier request conflicts with it. Never waits.
    public func tryLock(_ range: Range<UInt64>, _ mode: LockMode, at site: LockSite) -> Token? { tryLockBody(range, mode, site) }
    /// Releases a range acquired by `lock` or `tryLock`.
    public func unlock(_ token: Token, at site: LockSite) { unlockBody(token, site) }
    #else
    // Without DebugLocks the site-less forms hold the code and the site forms
    // (what the strategies call) are inlined into calls of them: one public
    // body each, so nothing is a thunk of anything.

    /// Acquires `range` in `mode`, waiting behind every earlier conflicting
    /// request. An empty range is granted at once and conflicts with nothing.
    public func lock(_ range: Range<UInt64>, _ mode: LockMode) -> Token { lockBody(range, mode, LockSite()) }
    /// Acquires `range` or gives up after `timeout` (returns nil, holding
    /// nothing, and no longer blocking later requests).
    public func lock(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration) -> Token? {
        lockBody(range, mode, timeout: timeout, LockSite())
    }
    /// Acquires `range` only if no earlier request conflicts with it. Never waits.
    public func tryLock(_ range: Range<UInt64>, _ mode: LockMode) -> Token? { tryLockBody(range, mode, LockSite()) }
    /// Releases a range acquired by `lock` or `tryLock`.
    public func unlock(_ token: Token) { unlockBody(token, LockSite()) }

    /// `lock(_:_:)`; the (empty) site is ignored.
    @inlinable @inline(__always) public func lock(_ range: Range<UInt64>, _ mode: LockMode, at site: LockSite) -> Token { lock(range, mode) }
    /// `lock(_:_:timeout:)`; the (empty) site is ignored.
    @inlinable @inline(__always) public func lock(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration, at site: LockSite) -> Token? {
        lock(range, mode, timeout: timeout)
    }
    /// `tryLock(_:_:)`; the (empty) site is ignored.
    @inlinable @inline(__always) public func tryLock(_ range: Range<UInt64>, _ mode: LockMode, at site: LockSite) -> Token? { tryLock(range, mode) }
    /// `unlock(_:)`; the (empty) site is ignored.
    @inlinable @inline(__always) public func unlock(_ token: Token, at site: LockSite) { unlock(token) }
    #endif

    @inline(__always)
    func lockBody(_ range: Range<UInt64>, _ mode: LockMode, _ site: LockSite) -> Token {
        #if DebugLocks
        // An empty range never waits: to the checker, a trylock.
        let waits = !range.isEmpty
        if waits { LockDep.willAcquire(lockClass, instance: 0, mode: mode, order: debugOrder(range), site: site) }
        #endif
        if let slot = fastLock(range.lowerBound, range.upperBound, mode) {
            #if DebugLocks
            LockDep.acquired(lockClass, instance: UInt(bitPattern: slot), mode: mode, order: debugOrder(range), site: site, isTry: !waits)
            #endif
            return Token(slot: slot, range: range, mode: mode)
        }
        let node = enqueue(range, mode, onlyIfFree: false).unsafelyUnwrapped
        waitUntilGranted(node, deadline: nil)
        #if DebugLocks
        LockDep.acquired(lockClass, instance: UInt(bitPattern: node), mode: mode, order: debugOrder(range), site: site, isTry: !waits)
        #endif
        return Token(node: node)
    }

    @inline(__always)
    func lockBody(_ range: Range<UInt64>, _ mode: LockMode, timeout: Duration, _ site: LockSite) -> Token? {
        if let slot = fastLock(range.lowerBound, range.upperBound, mode) {
            #if DebugLocks
            LockDep.acquired(lockClass, instance: UInt(bitPattern: slot), mode: mode, order: debugOrder(range), site: site, isTry: true)
            #endif
            return Token(slot: slot, range: range, mode: mode)
        }
        let start = MonotonicClock.nanoseconds()
        let deadline = start &+ min(timeout.clampedNanoseconds, UInt64.max / 2)
        let node = enqueue(range, mode, onlyIfFree: false).unsafelyUnwrapped
        if waitUntilGranted(node, deadline: deadline) {
            #if DebugLocks
            // A timed wait gives up instead of deadlocking: to the checker,
            // like a trylock (held, but no order).
            LockDep.acquired(lockClass, instance: UInt(bitPattern: node), mode: mode, order: debugOrder(range), site: site, isTry: true)
            #endif
            return Token(node: node)
        }
        // Leaving the queue is exactly a release: later requests that counted
        // us stop counting us. (If we were granted at the last moment, this
        // simply releases the range.)
        release(node)
        return nil
    }

    @inline(__always)
    func tryLockBody(_ range: Range<UInt64>, _ mode: LockMode, _ site: LockSite) -> Token? {
        if let slot = fastLock(range.lowerBound, range.upperBound, mode) {
            #if DebugLocks
            LockDep.acquired(lockClass, instance: UInt(bitPattern: slot), mode: mode, order: debugOrder(range), site: site, isTry: true)
            #endif
            return Token(slot: slot, range: range, mode: mode)
        }
        guard let node = enqueue(range, mode, onlyIfFree: true) else { return nil }
        #if DebugLocks
        LockDep.acquired(lockClass, instance: UInt(bitPattern: node), mode: mode, order: debugOrder(range), site: site, isTry: true)
        #endif
        return Token(node: node)
    }

    @inline(__always)
    func unlockBody(_ token: Token, _ site: LockSite) {
        #if DebugLocks
        // A bad unlock that a test's observer consumed changes nothing (the
        // node may already be recycled).
        guard LockDep.willRelease(lockClass, instance: token.instance, mode: nil, site: site) else { return }
        #endif
        if let slot = token.slot {
            fastUnlock(slot, token.range.lowerBound, token.range.upperBound, token.mode)
        } else if let node = token.node {
            release(node)
        }
    }

    /// Requests currently outstanding (granted or waiting): in the list, and
    /// held on the fast path. For tests.
    public var outstandingCount: Int {
        listLock.lock()
        defer { listLock.unlock() }
        var count = 0
        var cur = head
        while let n = cur { count += 1; cur = n.pointee.next }
        for i in 0..<allSlotCount where folio_atomic_load64_seqcst(slotWord(i)) != 0 { count += 1 }
        return count
    }

    /// Requests in the list (granted or waiting), not counting the fast
    /// path's. For tests.
    public var queuedCount: Int { Int(folio_atomic_load64_seqcst(slowCountWord)) }

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
        // Announce the request before looking at the fast slots (Dekker: a
        // fast request that publishes after this sees it and queues; one that
        // published before is seen below). From here on no new fast range is
        // granted, so this request waits only for those granted before it.
        folio_atomic_fetch_add64_seqcst(slowCountWord, 1)
        var count: UInt32 = 0
        if lower < upper {
            if onlyIfFree && fastConflict(lower, upper, mode, except: nil) {
                folio_atomic_fetch_sub64_seqcst(slowCountWord, 1)
                listLock.unlock()
                return nil
            }
            var cur = head
            while let n = cur {
                if Self.conflict(n, lower, upper, mode) {
                    if onlyIfFree {
                        folio_atomic_fetch_sub64_seqcst(slowCountWord, 1)
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

    /// Parks until the node's blocking count is zero and no conflicting fast
    /// range is held. Returns false at the deadline if still blocked.
    @discardableResult
    func waitUntilGranted(_ node: UnsafeMutablePointer<Node>, deadline: UInt64?) -> Bool {
        let blocked = { self.isBlocked(node) }
        if !blocked() { return true }
        fenceAgainstFastReleases(node)
        let start = MonotonicClock.nanoseconds()
        let key = UInt(bitPattern: node)
        while blocked() {
            var timeout: Duration? = nil
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                if now >= deadline {
                    statistics?.timeouts.wrappingAdd(1, ordering: .relaxed)
                    return false
                }
                timeout = .nanoseconds(Int64(clamping: deadline - now))
            }
            // Validate under the bucket lock: a releaser decrements (or a
            // fast holder clears its slot) first and unparks after, so either
            // we see it here or it finds us queued. Spurious wake-ups (a
            // recycled node's address) just loop.
            statistics?.parks.wrappingAdd(1, ordering: .relaxed)
            _ = lot.park(key: key, timeout: timeout, validate: blocked)
        }
        statistics?.handoffs.wrappingAdd(1, ordering: .relaxed)
        statistics?.recordAcquired(lostRaces: 0, since: start)
        return true
    }

    /// Whether a queued request still waits: for an earlier list request
    /// (its count) or a conflicting fast range. Acquire pairs with the
    /// releasing decrement in `release` (and the fast slots' loads with the
    /// releasing store or exchange of `fastUnlock`), so the previous holder's
    /// writes are visible once we see it gone. (The node's range and mode are ours
    /// to read: set before it was queued, immutable while it is.)
    func isBlocked(_ node: UnsafeMutablePointer<Node>) -> Bool {
        folio_atomic_load_acquire(Self.blockingWord(node)) != 0
            || fastConflict(node.pointee.lower, node.pointee.upper, node.pointee.mode, except: nil)
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
        // Release (our critical section, for a fast request that finds the
        // list empty next).
        folio_atomic_fetch_sub64_seqcst(slowCountWord, 1)
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
