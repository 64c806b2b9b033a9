import FolioLocks
import Synchronization

/// The bits of a folio's state word. Bits 0 and 1 (and 30–31) belong to the
/// bit lock (`BitLockBits`): the per-page strategies lock a folio by setting bit 0 of
/// this very word, so a folio costs no lock storage of its own. The high 32
/// bits are the pin counts.
///
/// | bits | field | set / cleared by |
/// |---|---|---|
/// | 0 | locked | the per-page strategies (`BitLockBits.locked`) |
/// | 1 | parked | the per-page strategies (`BitLockBits.parked`) |
/// | 2 | uptodate | the filler, with the folio's page lock held |
/// | 3 | dirty | writers, with the page lock held |
/// | 4 | writeback | writeback, with the page lock held |
/// | 5 | referenced | the access hook, without a lock (SIEVE's "visited" bit) |
/// | 6 | compressed | reclaim's compression / decompression, with the folio's lock and range held; `tryPin` refuses a compressed folio |
/// | 7 | detached | whoever removes the folio from its page table, with the page lock and the table shard lock held; never cleared while the folio is in use |
/// | 8–15 | order | the pool, when it hands the folio out; constant while in use |
/// | 16–18 | lifetime: published, unlisted, free | `Folio+Lifetime.swift` |
/// | 19–20 | access frequency 0…3 | the access hook (S3-FIFO), without a lock |
/// | 21–23 | policy queue | the eviction policy, under its lock (S3-FIFO: small, main, chosen from either) |
/// | 24–28 | page shift (log2 of the page size) | the pool, with the order |
/// | 29 | compressed copy: a decompressed folio whose block is kept (`compression.keepCompressedCopy`) | decompression sets it, with the folio's lock and range; `markDirty` clears it |
/// | 30 | spinner | the hybrid lock under concurrency restriction (`BitLockBits.spinner`) |
/// | 31 | attention | the hybrid lock under concurrency restriction (`BitLockBits.attention`) |
/// | 32–47 | pin count (every pin) | `pin()` / `unpin()` |
/// | 48–63 | mapped pin count (views reading in place; each also a pin) | `tryPinMapped()`, `markPinMapped()` / `unpinMapped()` |
///
/// Invariant: the order, the page shift and the index change only while the
/// folio is free in its cache's pool; a pinned folio keeps all three.
@usableFromInline package struct FolioFlags: OptionSet, Sendable, Hashable {
    @usableFromInline package var rawValue: UInt64
    @inlinable package init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable package static var locked: FolioFlags { FolioFlags(rawValue: BitLockBits.locked) }
    @inlinable package static var parked: FolioFlags { FolioFlags(rawValue: BitLockBits.parked) }
    @inlinable package static var uptodate: FolioFlags { FolioFlags(rawValue: 1 << 2) }
    @inlinable package static var dirty: FolioFlags { FolioFlags(rawValue: 1 << 3) }
    @inlinable package static var writeback: FolioFlags { FolioFlags(rawValue: 1 << 4) }
    @inlinable package static var referenced: FolioFlags { FolioFlags(rawValue: 1 << 5) }
    @inlinable package static var compressed: FolioFlags { FolioFlags(rawValue: 1 << 6) }
    /// Removed from its page table: whoever finds it after locking must retry
    /// the lookup. A detached folio goes back to the pool once nobody pins it
    /// and the eviction policy has let it go; it may then be handed out again
    /// for another page or file (a new incarnation, seen as "not detached"
    /// only after `FolioPool.take` re-publishes it). So for a thread that
    /// pins a folio, "not detached" means "still in the table at its index".
    @inlinable package static var detached: FolioFlags { FolioFlags(rawValue: 1 << 7) }
    /// Uptodate, and its compressed block is still in its mapping's
    /// `compressedBlocks` with the same bytes: reclaim can make it
    /// compressed again without compressing. Any change to its bytes clears
    /// it (`markDirty`) and drops the block.
    @inlinable package static var compressedCopy: FolioFlags { FolioFlags(rawValue: 1 << 29) }

    /// All flag bits (the rest of the word holds the order, lifetime,
    /// policy and pin fields).
    @inlinable package static var allFlags: FolioFlags { FolioFlags(rawValue: 0xFF | 1 << 29) }
}

/// The unit the cache holds: `2^order` contiguous pages of one file starting at
/// an index aligned to `2^order`.
///
/// The header (this object) is *type-stable*: it belongs to its cache's
/// `FolioPool` for the cache's whole life, so a lock-free lookup may hold a
/// stale pointer to it and find out by `tryPin`. The data buffer is separate:
/// the pool attaches one of the right size when it hands the folio out and
/// takes it back when the folio is free.
///
/// Layout (72 bytes with the 16-byte object header; Linux's struct page is
/// 64): the state word (flags, per-page lock bits, order, page shift, policy
/// bits, pin count), the version of its bytes (optimistic reads), the index,
/// the data pointer, the owning mapping, and two links reserved for the
/// eviction policy.
public final class Folio: @unchecked Sendable {
    // @unchecked Sendable: `state`, `version`, `index` and `data` are
    // atomic; `index`, `data` and `mapping` are written only by the pool while the folio is
    // free, inside a write of `version` and before the
    // release store that hands it out (readers see them after an acquiring
    // pin, which a free folio refuses) — and `data` by (de)compression
    // under the folio's lock while it is compressed, which `tryPin` also
    // refuses; `policyPrev` and `policyNext` are
    // read and written only by the eviction policy under its own lock.

    /// Flags, the per-page lock bits, the order, the page shift, the policy
    /// bits and the pin count. See `FolioFlags`.
    @usableFromInline package let state: Atomic<UInt64>
    /// The sequence count of the folio's bytes (`SeqCount`): odd while a
    /// writer holding the folio's lock changes them, so that an optimistic
    /// reader can copy without the lock and validate (`Folio+Version.swift`).
    @usableFromInline package let version: Atomic<UInt64>
    /// First page of the folio (aligned to `2^order`). Changes only while the
    /// folio is free in its cache's pool. Atomic (relaxed: a plain load and
    /// store on x86) because a lookup that does not pin
    /// (`PageTable.lookupUnderPageRange`) may read it while the pool gives
    /// the folio a new incarnation; the version tells it so.
    @usableFromInline package let indexWord: Atomic<UInt64>
    /// First page of the folio (`indexWord`).
    @inlinable @inline(__always) package internal(set) var index: PageIndex {
        get { PageIndex(indexWord.load(ordering: .relaxed)) }
        set { indexWord.store(newValue.rawValue, ordering: .relaxed) }
    }
    /// The folio's bytes (`byteCount`), owned while the folio is in use; nil
    /// for a folio that only stands for a lock (tests, benchmarks), while it
    /// is free, and while it is compressed (set and cleared by compression
    /// and decompression with the folio's lock held, while `tryPin` refuses
    /// it: nobody reads it then).
    ///
    /// Atomic (relaxed: a plain load and store on x86) because an optimistic
    /// read hit (`CachedFile+OptimisticRead.swift`) reads it without a pin
    /// while the pool may be giving the folio a new incarnation, or
    /// compression taking the bytes; the version and the state it checks
    /// around the load tell it so.
    @inlinable @inline(__always) package internal(set) var data: UnsafeMutableRawPointer? {
        get { UnsafeMutableRawPointer(bitPattern: dataWord.load(ordering: .relaxed)) }
        set { dataWord.store(UInt(bitPattern: newValue), ordering: .relaxed) }
    }
    /// The address of the buffer (`data`), 0 for none.
    @usableFromInline package let dataWord: Atomic<UInt>
    /// The mapping whose page table holds this folio: set by the pool before
    /// the folio is published (and only while it is free); a strong reference
    /// so that reclaim, which finds folios through the eviction policy, can
    /// always reach it.
    @exclusivity(unchecked) @usableFromInline var mapping: MappingCore?
    /// Intrusive links for the eviction policy's lists (owned by the policy's
    /// lock; the pool keeps the object alive). `Unmanaged`, with exclusivity
    /// checks off, so that walking and relinking a list touches no reference
    /// counts — with `unowned(unsafe) Folio?` links every read retained and
    /// released the neighbouring folio (measured: 77–120 ns per LRU relink
    /// against 7 ns).
    @exclusivity(unchecked) package var policyPrev: Unmanaged<Folio>?
    @exclusivity(unchecked) package var policyNext: Unmanaged<Folio>?

    /// A folio with no data, standing only for its lock (and, in tests, for a
    /// page of `1 << pageShift` bytes in a policy or a page table).
    @_spi(FolioInternals) public init(index: PageIndex, order: UInt8 = 0, pageShift: UInt8 = 12) {
        precondition(order <= Folio.maxOrder && pageShift <= 31, "Folio: order \(order) or page shift \(pageShift) out of range")
        precondition(index.rawValue & ((1 << UInt64(order)) - 1) == 0, "Folio: index \(index.rawValue) not aligned to order \(order)")
        self.state = Atomic(Folio.geometryBits(order: order, pageShift: pageShift))
        self.version = Atomic(0)
        self.indexWord = Atomic(index.rawValue)
        self.dataWord = Atomic(0)
    }

    deinit {
        // A folio in use owns its buffer; a free one gave it back to the pool.
        data?.deallocate()
    }

    /// The largest order a state word can hold.
    @inlinable package static var maxOrder: UInt8 { 15 }

    /// The order and page-shift fields of a state word.
    @inlinable static func geometryBits(order: UInt8, pageShift: UInt8) -> UInt64 {
        UInt64(order) << 8 | UInt64(pageShift) << 24
    }

    /// The parking-lot key of this folio: its address. Stable while the folio
    /// is alive, which any thread locking it guarantees by holding a reference.
    @inlinable package var lockKey: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// A racy snapshot of the flags, for assertions and diagnostics.
    @usableFromInline package var flags: FolioFlags { FolioFlags(rawValue: state.load(ordering: .relaxed) & FolioFlags.allFlags.rawValue) }

    /// Sets flags with one atomic or; returns the previous flags. The lock
    /// bits cannot be set this way.
    @discardableResult
    @inlinable package func setFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.all == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseOr(f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }

    /// Clears flags with one atomic and; returns the previous flags. The lock
    /// bits cannot be cleared this way.
    @discardableResult
    @inlinable package func clearFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.all == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseAnd(~f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }

    /// Whether the folio's lock bit is set (a racy snapshot: true for certain
    /// only when the caller holds the lock — what debug asserts check).
    @inlinable var isLockBitSet: Bool { state.load(ordering: .relaxed) & BitLockBits.locked != 0 }
}
