import CFolioShims

/// Atomic loads and stores of 64-bit words in memory the caller owns, for
/// structures that readers traverse without a lock (the page table's slots).
/// Thin wrappers over the C shims, so that ThreadSanitizer sees them.
public enum RawAtomic64 {
    /// Loads the word at `p` with acquire ordering.
    @inlinable public static func loadAcquire(_ p: UnsafeMutablePointer<UInt64>) -> UInt64 { folio_atomic_load64_acquire(p) }
    /// Loads the word at `p` with relaxed ordering.
    @inlinable public static func loadRelaxed(_ p: UnsafeMutablePointer<UInt64>) -> UInt64 { folio_atomic_load64_relaxed(p) }
    /// Stores `v` at `p` with release ordering.
    @inlinable public static func storeRelease(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) { folio_atomic_store64_release(p, v) }
    /// Stores `v` at `p` with relaxed ordering.
    @inlinable public static func storeRelaxed(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) { folio_atomic_store64_relaxed(p, v) }
    /// Adds `v` to the word at `p` (wrapping, relaxed); returns the old value.
    @inlinable @discardableResult
    public static func fetchAddRelaxed(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) -> UInt64 { folio_atomic_fetch_add64_relaxed(p, v) }
    /// Ors `v` into the word at `p` (relaxed); returns the old value.
    @inlinable @discardableResult
    public static func fetchOrRelaxed(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) -> UInt64 { folio_atomic_fetch_or64_relaxed(p, v) }
    /// Replaces the word at `p` with `v` (relaxed); returns the old value.
    @inlinable public static func exchangeRelaxed(_ p: UnsafeMutablePointer<UInt64>, _ v: UInt64) -> UInt64 { folio_atomic_exchange64_relaxed(p, v) }
}
