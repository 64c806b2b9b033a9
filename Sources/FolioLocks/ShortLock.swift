/// A small mutex for short critical sections that never sleep or do I/O
/// inside: page-table shards, eviction-policy lists, bookkeeping.
///
/// A futex mutex on a word it owns (`RawWordMutex`), not
/// `Synchronization.Mutex`: ThreadSanitizer cannot see the latter's lock and
/// unlock on Linux and would report false races on everything it protects.
/// Uncontended lock + unlock: two atomic operations; contended: a short spin,
/// then the futex.
///
/// With the `DebugLocks` trait each lock has a class (`init(_:)`, or the class
/// of the line that created it) and `LockDep` checks every operation.
public final class ShortLock: @unchecked Sendable {
    // @unchecked Sendable: the only state is the futex word, touched only
    // through atomics (and, with DebugLocks, an immutable class id).
    @usableFromInline let word: UnsafeMutablePointer<UInt32>
    #if DebugLocks
    @usableFromInline let lockClass: LockClass
    #endif

    /// A lock of class `lockClass` (kept only with the `DebugLocks` trait).
    public init(_ lockClass: LockClass) {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
        #if DebugLocks
        self.lockClass = lockClass
        #endif
    }

    #if DebugLocks
    /// A lock of the class of the line that creates it.
    public convenience init(file: StaticString = #fileID, line: UInt = #line) {
        self.init(LockClass(createdAt: file, line: line, kind: "ShortLock"))
    }
    #else
    /// A lock (of no class: the `DebugLocks` trait is off).
    public convenience init() { self.init(LockClass()) }
    #endif

    deinit { word.deallocate() }

    #if DebugLocks
    @inlinable var mutex: RawWordMutex { RawWordMutex(word: word, lockClass: lockClass) }

    /// Locks, waiting as long as it takes (checked, with the caller's site).
    @inlinable public func lock(file: StaticString = #fileID, line: UInt = #line) { mutex.lock(at: LockSite(file: file, line: line)) }
    /// Locks only if the lock is free, never waiting; returns whether it did.
    @inlinable public func tryLock(file: StaticString = #fileID, line: UInt = #line) -> Bool { mutex.tryLock(at: LockSite(file: file, line: line)) }
    /// Unlocks, waking one waiter if there may be one.
    @inlinable public func unlock(file: StaticString = #fileID, line: UInt = #line) { mutex.unlock(at: LockSite(file: file, line: line)) }

    /// Runs `body` with the lock held.
    @inlinable public func withLock<T, E: Error>(file: StaticString = #fileID, line: UInt = #line, _ body: () throws(E) -> T) throws(E) -> T {
        let site = LockSite(file: file, line: line)
        mutex.lock(at: site)
        defer { mutex.unlock(at: site) }
        return try body()
    }
    #else
    @inlinable var mutex: RawWordMutex { RawWordMutex(word: word) }

    /// Locks, waiting as long as it takes.
    @inlinable public func lock() { mutex.rawLock() }
    /// Locks only if the lock is free, never waiting; returns whether it did.
    @inlinable public func tryLock() -> Bool { mutex.rawTryLock() }
    /// Unlocks, waking one waiter if there may be one.
    @inlinable public func unlock() { mutex.rawUnlock() }

    /// Runs `body` with the lock held.
    @inlinable public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
    #endif
}
