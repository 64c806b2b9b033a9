import FolioLocks
import Synchronization

/// The bits of a folio's state word. Bits 0 and 1 belong to the bit lock
/// (`BitLockBits`): the per-page strategies lock a folio by setting bit 0 of
/// this very word, so a folio costs no lock storage of its own. The high 32
/// bits are the pin count.
///
/// | bit | flag | set / cleared by |
/// |---|---|---|
/// | 0 | locked | the per-page strategies (`BitLockBits.locked`) |
/// | 1 | parked | the per-page strategies (`BitLockBits.parked`) |
/// | 2 | uptodate | the filler, with the folio's page lock held |
/// | 3 | dirty | writers, with the page lock held |
/// | 4 | writeback | writeback, with the page lock held |
/// | 5 | referenced | readers on a hit, without a lock (the eviction policy's "visited" bit) |
/// | 6 | compressed | collapse / compression, with the page lock held |
/// | 7 | detached | whoever removes the folio from its page table, with the page lock and the table shard lock held; never cleared |
/// | 8–15 | order | set at creation, immutable |
/// | 32–63 | pin count | `pin()` / `unpin()` |
public struct FolioFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable public static var locked: FolioFlags { FolioFlags(rawValue: BitLockBits.locked) }
    @inlinable public static var parked: FolioFlags { FolioFlags(rawValue: BitLockBits.parked) }
    @inlinable public static var uptodate: FolioFlags { FolioFlags(rawValue: 1 << 2) }
    @inlinable public static var dirty: FolioFlags { FolioFlags(rawValue: 1 << 3) }
    @inlinable public static var writeback: FolioFlags { FolioFlags(rawValue: 1 << 4) }
    @inlinable public static var referenced: FolioFlags { FolioFlags(rawValue: 1 << 5) }
    @inlinable public static var compressed: FolioFlags { FolioFlags(rawValue: 1 << 6) }
    /// Removed from its page table: whoever finds it after locking must retry
    /// the lookup. A folio is never re-inserted, so "not detached" means "still
    /// in the table at `index`" — identity is the generation.
    @inlinable public static var detached: FolioFlags { FolioFlags(rawValue: 1 << 7) }

    /// All flag bits (bits 8–15 hold the order, 32–63 the pin count).
    @inlinable public static var allFlags: FolioFlags { FolioFlags(rawValue: 0xFF) }
}

/// The unit the cache holds: `2^order` contiguous pages of one file starting at
/// an index aligned to `2^order`.
///
/// Layout (64 bytes with the 16-byte object header, the size of Linux's
/// struct page): the state word (flags, per-page lock bits, order, pin count),
/// the index, the data pointer, the owning mapping, and two links reserved for
/// the eviction policy.
public final class Folio: @unchecked Sendable {
    // @unchecked Sendable: `state` is atomic; `index` and `data` are
    // immutable; `mapping` is written once before the folio is published to
    // other threads (through the page-table shard lock); `policyPrev` and
    // `policyNext` are read and written only by the eviction policy under its
    // own lock.

    /// Flags, the per-page lock bits, the order and the pin count. See
    /// `FolioFlags`.
    public let state: Atomic<UInt64>
    /// First page of the folio. Changes only while the folio is free in its
    /// cache's pool (readers see it only after pinning, which a free folio
    /// refuses).
    @exclusivity(unchecked) public internal(set) var index: PageIndex
    /// The folio's bytes (`pageSize << order`), owned; nil for a folio that
    /// only stands for a lock (tests, benchmarks).
    public let data: UnsafeMutableRawPointer?
    /// The mapping whose page table holds this folio: set by the engine before
    /// the folio is published (and only while it is free); a strong reference
    /// so that reclaim, which finds folios through the eviction policy, can
    /// always reach it.
    @exclusivity(unchecked) @usableFromInline var mapping: MappingCore?
    /// Intrusive links for the eviction policy's list (owned by the policy's
    /// lock; the page table holds the strong reference). `Unmanaged`, with
    /// exclusivity checks off, so that walking and relinking the list touches
    /// no reference counts — with `unowned(unsafe) Folio?` links every read
    /// retained and released the neighbouring folio (measured: 77–120 ns per
    /// LRU relink against 7 ns).
    @exclusivity(unchecked) public var policyPrev: Unmanaged<Folio>?
    @exclusivity(unchecked) public var policyNext: Unmanaged<Folio>?

    /// log2 of the number of pages (kept in bits 8–15 of the state word).
    @inlinable public var order: UInt8 { UInt8(truncatingIfNeeded: state.load(ordering: .relaxed) >> 8) }

    /// A folio with no data, standing only for its lock.
    public init(index: PageIndex, order: UInt8 = 0) {
        self.state = Atomic(UInt64(order) << 8)
        self.index = index
        self.data = nil
    }

    /// A folio owning `byteCount` bytes of zeroed, 64-byte aligned memory.
    public init(index: PageIndex, order: UInt8 = 0, byteCount: Int) {
        self.state = Atomic(UInt64(order) << 8)
        self.index = index
        let p = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        self.data = p
    }

    deinit { data?.deallocate() }

    /// One pin, in the state word's high half.
    @inlinable public static var onePin: UInt64 { 1 << 32 }

    /// The parking-lot key of this folio: its address. Stable while the folio
    /// is alive, which any thread locking it guarantees by holding a reference.
    @inlinable public var lockKey: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// A racy snapshot of the flags, for assertions and diagnostics.
    public var flags: FolioFlags { FolioFlags(rawValue: state.load(ordering: .relaxed) & FolioFlags.allFlags.rawValue) }

    /// Sets flags with one atomic or; returns the previous flags. The lock
    /// bits cannot be set this way.
    @discardableResult
    @inlinable public func setFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.mask == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseOr(f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }

    /// Clears flags with one atomic and; returns the previous flags. The lock
    /// bits cannot be cleared this way.
    @discardableResult
    @inlinable public func clearFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.mask == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseAnd(~f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }

    /// Pins the folio: it will not be freed, evicted, merged or split until
    /// the matching `unpin`. The engine pins under the page-table shard lock,
    /// so reclaim (which checks the count under the same lock) never misses it.
    @inlinable public func pin() {
        state.wrappingAdd(Folio.onePin, ordering: .relaxed)
    }

    /// Pins the folio only if it is live in a page table: published, not
    /// detached, not free. This is how a lock-free lookup makes a pointer it
    /// read from the table safe to use — folios of a cache are never freed
    /// while the cache lives (they return to its pool), so pinning a stale
    /// pointer is harmless: it just fails. Acquire pairs with the release that
    /// published the folio (its index and mapping are visible after success).
    @inlinable public func tryPin() -> Bool {
        var s = state.load(ordering: .relaxed)
        while s & Folio.liveMask == Folio.publishedBit {
            let (ok, current) = state.weakCompareExchange(
                expected: s, desired: s &+ Folio.onePin,
                successOrdering: .acquiring, failureOrdering: .relaxed)
            if ok { return true }
            s = current
        }
        return false
    }

    // Lifetime bits (above the order, below the pin count; not `FolioFlags`).
    /// In a page table (set under the shard lock when inserted).
    @inlinable public static var publishedBit: UInt64 { 1 << 16 }
    /// No longer in the eviction policy (or never put there).
    @inlinable public static var unlistedBit: UInt64 { 1 << 17 }
    /// In its cache's pool, not in use.
    @inlinable public static var freeBit: UInt64 { 1 << 18 }
    @inlinable static var liveMask: UInt64 { publishedBit | FolioFlags.detached.rawValue | freeBit }

    /// Drops a pin. Release: the pinner's reads of the data happen-before a
    /// reclaimer that sees the count at zero (acquire) frees it.
    @inlinable public func unpin() {
        unpinned(previousState: state.wrappingSubtract(Folio.onePin, ordering: .releasing).oldValue)
    }

    /// What follows dropping a pin, given the state word before the atomic
    /// that dropped it (`unpin`, or a strategy's unlock-and-unpin): the last
    /// pin of a detached, unlisted folio retires it.
    @inlinable public func unpinned(previousState old: UInt64) {
        assert(old >= Folio.onePin, "Folio.unpin without a pin")
        if old >> 32 == 1 && old & Folio.retireMask == Folio.retireReady { retireIfIdle() }
    }

    /// Records that the eviction policy no longer tracks this folio (or never
    /// did); retires it if nothing else holds it.
    @usableFromInline func markUnlisted() {
        let old = state.bitwiseOr(Folio.unlistedBit, ordering: .acquiringAndReleasing).oldValue
        if old >> 32 == 0 && (old | Folio.unlistedBit) & Folio.retireMask == Folio.retireReady { retireIfIdle() }
    }

    @inlinable static var retireMask: UInt64 { FolioFlags.detached.rawValue | unlistedBit | freeBit }
    @inlinable static var retireReady: UInt64 { FolioFlags.detached.rawValue | unlistedBit }

    /// Returns the folio to its cache's pool once it is detached, unlisted and
    /// unpinned — exactly once, whoever gets here last (the CAS decides).
    @usableFromInline func retireIfIdle() {
        var s = state.load(ordering: .acquiring)
        while s >> 32 == 0 && s & Folio.retireMask == Folio.retireReady {
            let (ok, current) = state.weakCompareExchange(
                expected: s, desired: s | Folio.freeBit,
                successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            if ok {
                mapping?.pool.put(self)
                return
            }
            s = current
        }
    }

    /// The current pin count (a racy snapshot unless the caller holds the
    /// page-table shard lock).
    @inlinable public var pinCount: UInt64 { state.load(ordering: .acquiring) >> 32 }
}
