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
public struct RawWordMutex: @unchecked Sendable {
    // @unchecked Sendable: a handle to a word that is only touched atomically.
    public let word: UnsafeMutablePointer<UInt32>

    /// Wraps a word that the caller has initialized to 0 and keeps alive.
    @inlinable public init(word: UnsafeMutablePointer<UInt32>) { self.word = word }

    @inlinable public func lock() {
        var expected: UInt32 = 0
        if folio_atomic_cas_acqrel(word, &expected, 1) { return }
        lockSlow()
    }

    @inlinable public func tryLock() -> Bool {
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

    @inlinable public func unlock() {
        // Release pairs with the acquire of the next locker's CAS/exchange.
        if folio_atomic_exchange_acqrel(word, 0) == 2 {
            _ = folio_futex_wake(word, 1)
        }
    }
}
