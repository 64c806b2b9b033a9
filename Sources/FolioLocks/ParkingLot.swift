import CFolioShims
import Synchronization

/// A table of FIFO wait queues hashed by an address-sized key: the place where
/// threads that cannot take a lock go to sleep.
///
/// The idea is the Linux page wait table (256 hashed queues for every page in
/// the system) and WebKit's / Rust's parking lot: a lock keeps only a couple of
/// bits in its own word ("locked", "someone is parked"), and all the waiting
/// machinery lives here, shared by every lock that uses this lot. A lock costs
/// nothing beyond its word, and an uncontended unlock never touches the table.
///
/// ## Contract
/// - `park` runs `validate` under the bucket lock; if it returns true the thread
///   is queued *before* the bucket lock is released. An unlocker that changes
///   the lock word and then calls `unpark*` therefore either makes `validate`
///   fail or finds the thread in the queue: no wake-up is lost.
/// - `unpark*` callbacks run under the bucket lock, after the queue has been
///   updated and before the woken threads can run, so a lock can decide
///   atomically whether to hand itself over or clear its "parked" bit.
/// - Per key, threads are unparked in the order they were queued (FIFO), except
///   that `park(atFront: true)` queues a thread ahead of the others and
///   `park(behind:)` right after the leading threads its predicate picks.
/// - A parked thread sleeps on a futex word of its own; nothing spins once parked.
/// - A parked *task* (`parkAsync`, ParkingLot+Async.swift) waits in the same
///   queue under the same rules; its unparker resumes its continuation where
///   it would wake a thread (after the bucket lock is released).
///
/// ## Cost
/// One bucket per 64-byte cache line. Park and unpark take the bucket lock and
/// walk that bucket's queue, so keys that share a bucket (a hash collision, or
/// every key when `bucketCount` is 1) cost each other a longer walk, never a
/// lost or misdirected wake-up.
public final class ParkingLot: @unchecked Sendable {
    // @unchecked Sendable: the only mutable state is the bucket array, and every
    // bucket's queue is read and written only while holding that bucket's
    // RawWordMutex. The storage pointer itself is immutable after init.

    /// The process-wide lot with the kernel's 256 buckets.
    public static let shared = ParkingLot(bucketCount: 256)

    /// Number of buckets (a power of two).
    public let bucketCount: Int
    @usableFromInline let buckets: UnsafeMutablePointer<Bucket>
    @usableFromInline let shift: UInt64

    @usableFromInline
    struct Bucket {
        var lockWord: UInt32 = 0  // first field: the RawWordMutex word
        var head: UnsafeMutablePointer<WaiterNode>? = nil
        var tail: UnsafeMutablePointer<WaiterNode>? = nil
        /// The key whose lock has a woken waiter up and about to retry
        /// (0: none); see `awakeMark(for:)`.
        var awakeKey: UInt = 0
        // Padding so two buckets never share a cache line.
        var pad: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    }

    /// Creates a lot. `bucketCount` is rounded up to a power of two, at least 1.
    /// Tests force it to 1 so that every key collides.
    public init(bucketCount: Int) {
        var n = 1
        while n < max(1, bucketCount) && n < (1 << 20) { n <<= 1 }
        self.bucketCount = n
        self.shift = UInt64(64 - n.trailingZeroBitCount)
        // Cache-line aligned, so with the padding no two buckets share a line.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Bucket>.stride, alignment: 64)
        self.buckets = raw.bindMemory(to: Bucket.self, capacity: n)
        buckets.initialize(repeating: Bucket(), count: n)
        assert(MemoryLayout<Bucket>.stride == 64)
        assert(MemoryLayout<Bucket>.offset(of: \Bucket.lockWord) == 0)
        assert(MemoryLayout<WaiterNode>.offset(of: \WaiterNode.state) == 0)
    }

    deinit {
        buckets.deinitialize(count: bucketCount)
        buckets.deallocate()
    }

    @inlinable func bucket(for key: UInt) -> UnsafeMutablePointer<Bucket> {
        if bucketCount == 1 { return buckets }
        // Fibonacci hashing: spreads aligned addresses over the high bits.
        let h = UInt64(truncatingIfNeeded: key) &* 0x9E37_79B9_7F4A_7C15
        return buckets + Int(truncatingIfNeeded: h >> shift)
    }

    @inlinable func mutex(_ b: UnsafeMutablePointer<Bucket>) -> RawWordMutex {
        RawWordMutex(word: UnsafeMutableRawPointer(b).assumingMemoryBound(to: UInt32.self), lockClass: .parkingLotBucket)
    }

    // MARK: Park

    /// Parks the calling thread on `key` if `validate()` holds.
    ///
    /// - Parameters:
    ///   - key: usually the address of the lock word.
    ///   - token: stored with the thread; unparkers see it.
    ///   - atFront: queue ahead of the threads already parked on `key` (a
    ///     waiter that lost a race re-queuing at the head).
    ///   - behind: if given, queue right after the leading threads of `key`
    ///     whose token it holds for, before the first one it does not (a
    ///     waiter due a handoff queuing behind the older due waiters and
    ///     ahead of everyone else; at the very front several of them would
    ///     be served newest first). Overrides `atFront`. Runs under the
    ///     bucket lock, walking the bucket's queue.
    ///   - timeout: give up after this long; `nil` waits forever.
    ///   - validate: run under the bucket lock; return false to not park.
    ///   - spinBeforeSleep: after queuing, watch the thread's own queue entry
    ///     for this many `pause`s before sleeping on it, so that an unpark
    ///     arriving meanwhile finds the thread running (0: sleep at once).
    ///   - beforeSleep: run after queuing and releasing the bucket lock.
    ///   - timedOut: run under the bucket lock when the timeout expired and the
    ///     thread was removed; its argument says whether it was the last thread
    ///     parked on `key`.
    public func park(
        key: UInt,
        token: ParkToken = ParkToken(),
        atFront: Bool = false,
        behind: ((ParkToken) -> Bool)? = nil,
        timeout: Duration? = nil,
        spinBeforeSleep: Int = 0,
        validate: () -> Bool,
        beforeSleep: () -> Void = {},
        timedOut: (_ wasLastThread: Bool) -> Void = { _ in }
    ) -> ParkResult {
        let deadline: UInt64? = timeout.map { t in
            let (d, o) = MonotonicClock.nanoseconds().addingReportingOverflow(t.clampedNanoseconds)
            return o ? .max : d
        }
        return withUnsafeTemporaryAllocation(of: WaiterNode.self, capacity: 1) { storage in
            // capacity 1: the base address always exists.
            let node = storage.baseAddress.unsafelyUnwrapped
            node.initialize(to: WaiterNode(key: key, parkToken: token))
            defer { node.deinitialize(count: 1) }
            let b = bucket(for: key)
            let m = mutex(b)

            m.lock()
            guard validate() else {
                m.unlock()
                return .invalid
            }
            if let behind { enqueue(node, in: b, behind: behind) } else { enqueue(node, in: b, atFront: atFront) }
            m.unlock()

            beforeSleep()

            let word = node.stateWord
            var spins = spinBeforeSleep
            while spins > 0 && folio_atomic_load_acquire(word) == WaiterNode.parked {
                folio_cpu_relax()
                spins -= 1
            }
            // Sleep until an unparker flips our word (acquire pairs with its
            // release store, which it made after writing unparkToken).
            while folio_atomic_load_acquire(word) == WaiterNode.parked {
                if let deadline {
                    let now = MonotonicClock.nanoseconds()
                    if now >= deadline { break }
                    _ = folio_futex_wait(word, WaiterNode.parked, Int64(clamping: deadline - now))
                } else {
                    _ = folio_futex_wait(word, WaiterNode.parked, -1)
                }
            }
            if folio_atomic_load_acquire(word) == WaiterNode.parked {
                // Timed out as far as we know; only the bucket lock can tell
                // whether an unparker took us out meanwhile.
                m.lock()
                if folio_atomic_load_relaxed(word) == WaiterNode.parked {
                    remove(node, from: b)
                    let wasLast = !hasThreads(key: key, in: b)
                    timedOut(wasLast)
                    m.unlock()
                    return .timedOut
                }
                m.unlock()
            }
            return .unparked(node.pointee.unparkToken)
        }
    }

    // MARK: Unpark

    /// Unparks the first thread parked on `key`, if any. `callback` runs under
    /// the bucket lock (even when nobody was parked) and picks the token the
    /// thread wakes with.
    @discardableResult
    public func unparkOne(key: UInt, callback: (UnparkResult) -> UnparkToken = { _ in .retry }) -> UnparkResult {
        let b = bucket(for: key)
        let m = mutex(b)
        m.lock()
        var prev: UnsafeMutablePointer<WaiterNode>? = nil
        var cur = b.pointee.head
        while let n = cur, n.pointee.key != key {
            prev = n
            cur = n.pointee.next
        }
        guard let found = cur else {
            let result = UnparkResult(unparkedThreads: 0, haveMoreThreads: false, firstToken: nil)
            _ = callback(result)
            m.unlock()
            return result
        }
        var more = false
        var scan = found.pointee.next
        unlink(found, prev: prev, in: b)
        while let n = scan {
            if n.pointee.key == key { more = true; break }
            scan = n.pointee.next
        }
        let result = UnparkResult(unparkedThreads: 1, haveMoreThreads: more, firstToken: found.pointee.parkToken)
        let token = callback(result)
        found.pointee.unparkToken = token
        // A parked task: take its continuation under the lock (the node is
        // freed once the task runs), resume it after.
        let task = takeContinuation(found)
        let word = found.stateWord
        folio_atomic_store_release(word, WaiterNode.unparked)
        m.unlock()
        if let task {
            ResumedTasks.willResume()
            task.resume(returning: .unparked(token))
        } else {
            // The node may already be gone (the thread saw `unparked` and
            // returned); a futex wake on a dead address is harmless.
            _ = folio_futex_wake(word, 1)
        }
        return result
    }

    /// Unparks every thread parked on `key`, each with `token`. Returns how many.
    @discardableResult
    public func unparkAll(key: UInt, token: UnparkToken = .retry) -> Int {
        unparkFilter(key: key, filter: { _ in .unpark }, callback: { _ in token }).unparkedThreads
    }

    /// Walks the threads parked on `key` in queue order and unparks those
    /// `filter` selects. `callback` runs under the bucket lock after the
    /// selection (even if it is empty); every selected thread wakes with the
    /// token it returns.
    @discardableResult
    public func unparkFilter(
        key: UInt,
        filter: (ParkToken) -> UnparkFilterDecision,
        callback: (UnparkResult) -> UnparkToken
    ) -> UnparkResult {
        unparkFilter(key: key, updating: { token in filter(token) }, callback: callback)
    }

    /// `unparkFilter(key:filter:callback:)` whose filter may also rewrite the
    /// park token of a thread it leaves parked (`.skip` or `.stop`): the
    /// thread keeps the new token for the next unparker (a lock counting the
    /// unlocks that passed a waiter over).
    @discardableResult
    public func unparkFilter(
        key: UInt,
        updating filter: (inout ParkToken) -> UnparkFilterDecision,
        callback: (UnparkResult) -> UnparkToken
    ) -> UnparkResult {
        let b = bucket(for: key)
        let m = mutex(b)
        var selected: [UnsafeMutablePointer<WaiterNode>] = []
        m.lock()
        var prev: UnsafeMutablePointer<WaiterNode>? = nil
        var cur = b.pointee.head
        var more = false
        var stopped = false
        while let n = cur {
            let next = n.pointee.next
            if n.pointee.key == key {
                if stopped {
                    more = true
                    break
                }
                // A copy, written back only if changed: a plain store like
                // `unparkToken`'s below (an inout access of the node would
                // be, to ThreadSanitizer, a write of the whole node, racing
                // with its owner's atomic reads of `state`).
                var token = n.pointee.parkToken
                let decision = filter(&token)
                if token != n.pointee.parkToken { n.pointee.parkToken = token }
                switch decision {
                case .unpark:
                    unlink(n, prev: prev, in: b)
                    selected.append(n)
                    cur = next
                    continue  // prev stays: n is gone
                case .skip:
                    more = true
                case .stop:
                    stopped = true
                    more = true
                    break
                }
            }
            prev = n
            cur = next
        }
        let result = UnparkResult(
            unparkedThreads: selected.count, haveMoreThreads: more,
            firstToken: selected.first?.pointee.parkToken)
        let token = callback(result)
        var words: [UnsafeMutablePointer<UInt32>] = []
        var tasks: [UnsafeContinuation<AsyncParkResult, Never>] = []
        words.reserveCapacity(selected.count)
        for n in selected {
            n.pointee.unparkToken = token
            if let task = takeContinuation(n) { tasks.append(task) } else { words.append(n.stateWord) }
            folio_atomic_store_release(n.stateWord, WaiterNode.unparked)
        }
        m.unlock()
        for w in words { _ = folio_futex_wake(w, 1) }
        if !tasks.isEmpty { ResumedTasks.willResume(tasks.count) }
        for t in tasks { t.resume(returning: .unparked(token)) }
        return result
    }

    // MARK: The awake mark

    /// One key per bucket may carry the *awake mark*: a lock's way of saying
    /// "a waiter of mine has been woken and is about to retry", so that its
    /// unlocks need not wake another (`HybridLockPolicy.singleWaker`). It is
    /// set and cleared only under the bucket lock — call these accessors only
    /// from inside an `unpark*` filter or callback, or a `park` validate, for
    /// the same `key`. It is accessed with atomics and the clear is fenced, so
    /// that a reader without the lock would also be correct (measured and
    /// not kept: docs/fairness.md). 0 means no mark (and key 0 is never
    /// marked).
    func awakeMark(for key: UInt) -> UInt { UInt(RawAtomic64.loadRelaxed(awakeWord(key))) }

    /// Sets the mark to `key` if the bucket has none; returns whether it
    /// did. Bucket lock held (see `awakeMark(for:)`).
    func setAwakeMark(_ key: UInt) -> Bool {
        let p = awakeWord(key)
        guard key != 0, RawAtomic64.loadRelaxed(p) == 0 else { return false }
        RawAtomic64.storeRelaxed(p, UInt64(key))
        return true
    }

    /// Removes `key`'s mark, then orders that before the caller's next load
    /// (a sequentially consistent fence: the waiter clears its mark and
    /// then looks at the lock word, the unlocker drops the bit and then
    /// looks at the mark — one of the two sees the other). Bucket lock held
    /// (see `awakeMark(for:)`).
    func clearAwakeMarkLocked(_ key: UInt) {
        let p = awakeWord(key)
        if RawAtomic64.loadRelaxed(p) == UInt64(key) { RawAtomic64.storeRelaxed(p, 0) }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Removes `key`'s mark, taking the bucket lock (and fences as
    /// `clearAwakeMarkLocked`).
    func clearAwakeMark(_ key: UInt) {
        let m = mutex(bucket(for: key))
        m.lock()
        clearAwakeMarkLocked(key)
        m.unlock()
    }

    func awakeWord(_ key: UInt) -> UnsafeMutablePointer<UInt64> {
        // `awakeKey` is a UInt (64 bits here) at a fixed offset in the bucket.
        (UnsafeMutableRawPointer(bucket(for: key)) + ParkingLot.awakeOffset).assumingMemoryBound(to: UInt64.self)
    }

    static let awakeOffset: Int = MemoryLayout<Bucket>.offset(of: \Bucket.awakeKey) ?? 24

    // MARK: Introspection

    /// How many threads are parked on `key` right now. For tests and
    /// diagnostics; the answer may be stale as soon as it is returned.
    public func parkedCount(key: UInt) -> Int {
        let b = bucket(for: key)
        let m = mutex(b)
        m.lock()
        defer { m.unlock() }
        var count = 0
        var cur = b.pointee.head
        while let n = cur {
            if n.pointee.key == key { count += 1 }
            cur = n.pointee.next
        }
        return count
    }

    // MARK: Queue plumbing (bucket lock held)

    func enqueue(_ node: UnsafeMutablePointer<WaiterNode>, in b: UnsafeMutablePointer<Bucket>, atFront: Bool) {
        if atFront {
            node.pointee.next = b.pointee.head
            b.pointee.head = node
            if b.pointee.tail == nil { b.pointee.tail = node }
        } else {
            node.pointee.next = nil
            if let t = b.pointee.tail { t.pointee.next = node } else { b.pointee.head = node }
            b.pointee.tail = node
        }
    }

    /// Queues `node` before the first node of its key whose token `behind`
    /// does not hold for (at the tail if there is none).
    func enqueue(_ node: UnsafeMutablePointer<WaiterNode>, in b: UnsafeMutablePointer<Bucket>, behind: (ParkToken) -> Bool) {
        let key = node.pointee.key
        var prev: UnsafeMutablePointer<WaiterNode>? = nil
        var cur = b.pointee.head
        while let n = cur, n.pointee.key != key || behind(n.pointee.parkToken) {
            prev = n
            cur = n.pointee.next
        }
        node.pointee.next = cur
        if let prev { prev.pointee.next = node } else { b.pointee.head = node }
        if cur == nil { b.pointee.tail = node }
    }

    func unlink(_ node: UnsafeMutablePointer<WaiterNode>, prev: UnsafeMutablePointer<WaiterNode>?, in b: UnsafeMutablePointer<Bucket>) {
        if let prev { prev.pointee.next = node.pointee.next } else { b.pointee.head = node.pointee.next }
        if b.pointee.tail == node { b.pointee.tail = prev }
        node.pointee.next = nil
    }

    func remove(_ node: UnsafeMutablePointer<WaiterNode>, from b: UnsafeMutablePointer<Bucket>) {
        var prev: UnsafeMutablePointer<WaiterNode>? = nil
        var cur = b.pointee.head
        while let n = cur {
            if n == node {
                unlink(n, prev: prev, in: b)
                return
            }
            prev = n
            cur = n.pointee.next
        }
        assertionFailure("parked node missing from its bucket")
    }

    func hasThreads(key: UInt, in b: UnsafeMutablePointer<Bucket>) -> Bool {
        var cur = b.pointee.head
        while let n = cur {
            if n.pointee.key == key { return true }
            cur = n.pointee.next
        }
        return false
    }
}
