import CFolioShims

/// A 32-bit futex mutex living in memory the caller owns (Drepper's "mutex 2",
/// with a short spin).
///
/// Used for the parking lot's bucket locks and the range lock's list lock:
/// critical sections of a few dozen instructions that are never held across I/O
/// or sleep. It is not `Synchronization.Mutex` on purpose: that type's lock and
/// unlock live in an uninstrumented library and make ThreadSanitizer report
/// false races (see docs/locking.md), while the `__atomic` builtins used here are
/// visible to it.
///
/// Word values: 0 unlocked, 1 locked, 2 locked and maybe contended.
///
/// With the `DebugLocks` trait, the handle also carries its lock class and
/// every `lock`/`tryLock`/`unlock` is checked by `LockDep` (owner, order);
/// without it the handle is the word pointer alone.
public struct RawWordMutex: @unchecked Sendable {
    // @unchecked Sendable: a handle to a word that is only touched atomically
    // (and, with DebugLocks, an immutable class id).
    /// The futex word (0 unlocked, 1 locked, 2 locked and maybe contended).
    public let word: UnsafeMutablePointer<UInt32>
    #if DebugLocks
    /// The lock's class for the `DebugLocks` checker.
    public let lockClass: LockClass

    /// Wraps a word that the caller has initialized to 0 and keeps alive.
    @inlinable public init(word: UnsafeMutablePointer<UInt32>, lockClass: LockClass) {
        self.word = word
        self.lockClass = lockClass
    }

    /// A word lock of the class of the place this line is (lockdep's class
    /// per initialization site).
    public init(word: UnsafeMutablePointer<UInt32>, file: StaticString = #fileID, line: UInt = #line) {
        self.init(word: word, lockClass: LockClass(createdAt: file, line: line, kind: "RawWordMutex"))
    }

    /// Locks, waiting as long as it takes (``lock(at:)`` with the caller's site).
    @inlinable public func lock(file: StaticString = #fileID, line: UInt = #line) { lock(at: LockSite(file: file, line: line)) }
    /// Locks only if the lock is free (``tryLock(at:)`` with the caller's site).
    @inlinable public func tryLock(file: StaticString = #fileID, line: UInt = #line) -> Bool { tryLock(at: LockSite(file: file, line: line)) }
    /// Unlocks (``unlock(at:)`` with the caller's site).
    @inlinable public func unlock(file: StaticString = #fileID, line: UInt = #line) { unlock(at: LockSite(file: file, line: line)) }
    #else
    /// Wraps a word that the caller has initialized to 0 and keeps alive.
    @inlinable public init(word: UnsafeMutablePointer<UInt32>) { self.word = word }
    /// The same, with a lock class (kept only with the `DebugLocks` trait).
    @inlinable @inline(__always) public init(word: UnsafeMutablePointer<UInt32>, lockClass: LockClass) { self.word = word }

    /// Locks, waiting as long as it takes.
    @inlinable @inline(__always) public func lock() { rawLock() }
    /// Locks only if the lock is free; returns whether it did.
    @inlinable @inline(__always) public func tryLock() -> Bool { rawTryLock() }
    /// Unlocks, waking one waiter if the word says it may be contended.
    @inlinable @inline(__always) public func unlock() { rawUnlock() }
    #endif

    /// Locks, waiting as long as it takes: the lock operations with the
    /// caller's site (checked with `DebugLocks`).
    @inlinable @inline(__always) public func lock(at site: LockSite) {
        #if DebugLocks
        LockDep.willAcquire(lockClass, instance: UInt(bitPattern: word), mode: .exclusive, site: site)
        #endif
        rawLock()
        #if DebugLocks
        LockDep.acquired(lockClass, instance: UInt(bitPattern: word), mode: .exclusive, site: site, isTry: false)
        #endif
    }

    /// Locks only if the lock is free, never waiting; returns whether it did.
    @inlinable @inline(__always) public func tryLock(at site: LockSite) -> Bool {
        let ok = rawTryLock()
        #if DebugLocks
        if ok { LockDep.acquired(lockClass, instance: UInt(bitPattern: word), mode: .exclusive, site: site, isTry: true) }
        #endif
        return ok
    }

    /// Unlocks, waking one waiter if the word says it may be contended.
    @inlinable @inline(__always) public func unlock(at site: LockSite) {
        #if DebugLocks
        // A bad unlock that a test's observer consumed changes nothing.
        guard LockDep.willRelease(lockClass, instance: UInt(bitPattern: word), mode: .exclusive, site: site) else { return }
        #endif
        rawUnlock()
    }

    // MARK: The futex mutex itself (never checked: LockDep's own locks use these)

    /// Locks without telling the checker: a CAS from 0, else a short spin,
    /// then the futex.
    @inlinable public func rawLock() {
        var expected: UInt32 = 0
        if folio_atomic_cas_acqrel(word, &expected, 1) { return }
        lockSlow()
    }

    /// One CAS from 0 to 1, without telling the checker; returns whether it locked.
    @inlinable public func rawTryLock() -> Bool {
        var expected: UInt32 = 0
        return folio_atomic_cas_acqrel(word, &expected, 1)
    }

    @usableFromInline func lockSlow() {
        // Brief spin: holders run for well under a microsecond.
        for _ in 0..<64 {
            folio_cpu_relax()
            if folio_atomic_load_relaxed(word) == 0 {
                var expected: UInt32 = 0
                if folio_atomic_cas_acqrel(word, &expected, 1) { return }
            }
        }
        // Mark contended (2) and sleep until we take it from 0.
        var c = folio_atomic_exchange_acqrel(word, 2)
        while c != 0 {
            _ = folio_futex_wait(word, 2, -1)
            c = folio_atomic_exchange_acqrel(word, 2)
        }
    }

    /// Unlocks without telling the checker, waking one futex waiter if the
    /// word was 2 (contended).
    @inlinable public func rawUnlock() {
        // Release pairs with the acquire of the next locker's CAS/exchange.
        if folio_atomic_exchange_acqrel(word, 0) == 2 {
            _ = folio_futex_wake(word, 1)
        }
    }
}
