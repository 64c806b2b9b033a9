/// A small mutex for short critical sections that never sleep or do I/O
/// inside: page-table shards, eviction-policy lists, bookkeeping.
///
/// A futex mutex on a word it owns (`RawWordMutex`), not
/// `Synchronization.Mutex`: ThreadSanitizer cannot see the latter's lock and
/// unlock on Linux and would report false races on everything it protects.
/// Uncontended lock + unlock: two atomic operations; contended: a short spin,
/// then the futex.
public final class ShortLock: @unchecked Sendable {
    // @unchecked Sendable: the only state is the futex word, touched only
    // through atomics.
    @usableFromInline let word: UnsafeMutablePointer<UInt32>

    public init() {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit { word.deallocate() }

    @inlinable public func lock() { RawWordMutex(word: word).lock() }
    @inlinable public func tryLock() -> Bool { RawWordMutex(word: word).tryLock() }
    @inlinable public func unlock() { RawWordMutex(word: word).unlock() }

    /// Runs `body` with the lock held.
    @inlinable public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
