import CFolioShims
#if canImport(Glibc)
import Glibc
#endif

/// The range lock's fast path: ranges published in per-mode slots with no
/// internal lock while nothing is queued (the protocol: `RangeLock`'s
/// documentation, "The fast path"), the packed slot words, and the release
/// without a locked instruction where membarrier(2) is registered.
extension RangeLock {
    /// Whether membarrier(2)'s private expedited command is registered for
    /// this process (once, by the first range lock): then a fast release is a
    /// releasing store and a compiler barrier before its load of `slowCount`
    /// — no locked instruction — and the one request that depends on the
    /// order of those two, a list request about to wait for a fast holder,
    /// makes every running thread execute the full barrier instead
    /// (`fenceAgainstFastReleases`). Without it (another kernel, a seccomp
    /// filter) the release is the sequentially consistent exchange.
    public static let asymmetricFences: Bool = membarrierRegistration == 0
    /// What registering membarrier(2) returned: 0, or the errno (ENOSYS: the
    /// kernel lacks the command; EPERM: a seccomp filter forbids it).
    public static let membarrierRegistration: Int32 = folio_membarrier_register()
    static func allocateFastWords(slotsPerMode: Int) -> UnsafeMutablePointer<UInt64> {
        let words = (2 * slotsPerMode + 1) * lineWords
        let raw = UnsafeMutableRawPointer.allocate(byteCount: words * 8, alignment: 128)
        let p = raw.bindMemory(to: UInt64.self, capacity: words)
        p.initialize(repeating: 0, count: words)
        return p
    }

    // A slot word: bit 63 `held`, bit 62 exclusive, bits 20…61 the lower
    // bound, bits 0…19 the length (0 for an empty range).
    static let heldBit: UInt64 = 1 << 63
    static let exclusiveBit: UInt64 = 1 << 62
    static let lengthBits: UInt64 = 20
    static let lowerLimit: UInt64 = 1 << 42

    /// The slot word for a range, or nil if it does not fit.
    @inline(__always)
    static func pack(_ lower: UInt64, _ upper: UInt64, _ mode: LockMode) -> UInt64? {
        guard lower < lowerLimit, upper >= lower, upper - lower < 1 << lengthBits else { return nil }
        return heldBit | (mode == .exclusive ? exclusiveBit : 0) | lower << lengthBits | (upper - lower)
    }

    /// Whether a published slot word conflicts with a request.
    @inline(__always)
    static func slotConflicts(_ v: UInt64, _ lower: UInt64, _ upper: UInt64, _ mode: LockMode) -> Bool {
        let length = v & ((1 << lengthBits) - 1)
        guard v != 0, length != 0, lower < upper else { return false }
        let sLower = (v >> lengthBits) & (lowerLimit - 1)
        let sUpper = sLower + length
        return sLower < upper && lower < sUpper && (mode == .exclusive || v & exclusiveBit != 0)
    }

    /// Where this thread starts looking for a free slot of a mode: the
    /// slot of the processor it runs on (`sched_getcpu`, a read of the
    /// kernel's restartable-sequence area on current glibc), so that threads
    /// running at the same time on different processors start on different
    /// slots — a hash of the thread's handle collided for two threads one
    /// time in eight, and the pair then read and wrote one slot line.
    @inline(__always)
    func startSlot() -> Int {
        let cpu = folio_current_cpu()
        if cpu >= 0 { return Int(truncatingIfNeeded: cpu) & (slotsPerMode - 1) }
        let id = UInt64(pthread_self())
        return Int(truncatingIfNeeded: (id &* 0x9E37_79B9_7F4A_7C15) >> 58) & (slotsPerMode - 1)
    }

    /// Takes the range on the fast path, or returns nil (nothing held) if the
    /// list is not empty, the range conflicts with another fast holder, does
    /// not pack, or no slot is free.
    @inline(__always)
    func fastLock(_ lower: UInt64, _ upper: UInt64, _ mode: LockMode) -> UnsafeMutablePointer<UInt64>? {
        // Early out (relaxed: the check that counts is the one after the
        // publish): a queued request means arrivals queue behind it.
        guard folio_atomic_load64_relaxed(slowCountWord) == 0, let packed = Self.pack(lower, upper, mode) else { return nil }
        let start = startSlot()
        let region = mode == .exclusive ? slotsPerMode : 0
        let mask = slotsPerMode &- 1
        for k in 0..<slotsPerMode {
            let slot = slotWord(region &+ (start &+ k) & mask)
            if folio_atomic_load64_relaxed(slot) != 0 { continue }
            var expected: UInt64 = 0
            guard folio_atomic_cas64_seqcst(slot, &expected, packed) else { continue }
            // Published. Now check (sequentially consistent, after the
            // publish): the list is empty and no other fast holder conflicts.
            // A list request that announced itself before this load is seen
            // here; one after it sees our slot.
            if folio_atomic_load64_seqcst(slowCountWord) != 0 || fastConflict(lower, upper, mode, except: slot) {
                fastUnlock(slot, lower, upper, mode)
                return nil
            }
            return slot
        }
        return nil
    }

    /// Whether a fast holder other than `except` holds a range conflicting
    /// with the request. Sequentially consistent loads (after the caller's
    /// publish or announcement); acquire, so a cleared slot's critical
    /// section happens-before what the caller does next. A shared request
    /// reads only the exclusive slots: shared ranges never conflict.
    @inline(__always)
    func fastConflict(_ lower: UInt64, _ upper: UInt64, _ mode: LockMode, except: UnsafeMutablePointer<UInt64>?) -> Bool {
        guard lower < upper else { return false }
        // The slots as one pointer stride (no index arithmetic per slot).
        var slot = slotWord(mode == .exclusive ? 0 : slotsPerMode)
        let end = slotWord(allSlotCount)
        while slot != end {
            defer { slot += Self.lineWords }
            if slot == except { continue }
            if Self.slotConflicts(folio_atomic_load64_seqcst(slot), lower, upper, mode) { return true }
        }
        return false
    }

    /// Releases a fast range (or withdraws a publish): clears the slot and,
    /// if a request is queued, wakes the queued ones it may have blocked.
    @inline(__always)
    func fastUnlock(_ slot: UnsafeMutablePointer<UInt64>, _ lower: UInt64, _ upper: UInt64, _ mode: LockMode) {
        if plainRelease {
            // Release (our critical section), then the load: the processor
            // may still let the load pass the store (store-load reordering),
            // and `fenceAgainstFastReleases` closes that window from the
            // other side — a list request that saw this slot set and will
            // wait runs membarrier(2) first, so either it then sees the slot
            // clear or the load below sees its announcement.
            folio_atomic_store64_release(slot, 0)
            folio_compiler_barrier()
            if folio_atomic_load64_relaxed(slowCountWord) != 0 { wakeAfterFastUnlock(lower, upper, mode) }
            return
        }
        // Release (our critical section) and sequentially consistent: a list
        // request announced after this exchange finds the slot clear; one
        // announced before it is seen by the load below.
        _ = folio_atomic_exchange64_seqcst(slot, 0)
        if folio_atomic_load64_seqcst(slowCountWord) != 0 { wakeAfterFastUnlock(lower, upper, mode) }
    }

    /// The heavy side of the asymmetric fence, run by a queued request
    /// (announced in `slowCount`) that is blocked and may be blocked by a
    /// fast range, before it parks: membarrier(2) makes every running thread
    /// of the process execute a full barrier, so a fast holder's clearing
    /// store that was still in its processor's store buffer is visible
    /// afterwards, and a fast release whose load of `slowCount` comes after
    /// sees the announcement (and wakes us). Only when a conflicting fast
    /// slot is seen set: a request that waits for list requests only, or
    /// for nothing, never pays the system call (1-5 us with other threads
    /// running). A fast range published after the announcement is withdrawn
    /// by its owner, whose own publish (a locked compare-and-swap) orders
    /// its later load of `slowCount` after the announcement.
    func fenceAgainstFastReleases(_ node: UnsafeMutablePointer<Node>) {
        guard plainRelease,
              fastConflict(node.pointee.lower, node.pointee.upper, node.pointee.mode, except: nil) else { return }
        let error = folio_membarrier()
        // Registered at start-up, the command cannot fail (EINVAL, EPERM
        // only when unregistered or unsupported).
        precondition(error == 0, "RangeLock: membarrier(2) failed after registering (errno \(error))")
    }

    /// A fast range left while requests are queued: wakes every queued
    /// request it conflicts with whose list count is zero (it may have been
    /// waiting for this range only). Under the list lock, so no woken node
    /// can be recycled meanwhile.
    func wakeAfterFastUnlock(_ lower: UInt64, _ upper: UInt64, _ mode: LockMode) {
        guard lower < upper else { return }
        listLock.lock()
        var cur = head
        while let n = cur {
            if Self.conflict(n, lower, upper, mode) && folio_atomic_load_acquire(Self.blockingWord(n)) == 0 {
                lot.unparkOne(key: UInt(bitPattern: n))
            }
            cur = n.pointee.next
        }
        listLock.unlock()
    }
}
