import CFolioShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// **Read-side sections that write no shared line**, and the test a
/// reclaimer needs before it frees memory such a reader may still touch —
/// Linux's SRCU reduced to what a cache of data buffers needs.
///
/// A reader brackets its lock-free access with `enter()` and `leave(_:)`:
/// one atomic add each on a counter of the processor it runs on (one slot per
/// processor, each on a pair of cache lines of its own), so readers on
/// different processors write no line in common. A thread may move between
/// `enter` and `leave`; it leaves the slot it entered, and slots count, they
/// do not own.
///
/// A reclaimer that has made some memory unreachable for new readers (taken
/// it out of every structure a reader starts from) and wants to free it asks
/// `emptySlots()` — with a full fence first — which slots are at zero now.
/// Once every slot has been seen at zero at least once since the memory went
/// unreachable, every reader that could have reached it has left: a reader
/// that entered before is counted in its slot until it leaves, and one that
/// entered after finds the memory unreachable (its `enter` is a full
/// barrier, the reclaimer's fence another: the Dekker pattern). A slot seen
/// non-zero is just asked again later; nobody waits for readers.
///
/// - Cost: `enter` reads the processor number (0.3 ns from the kernel's
///   restartable-sequences area) and does one `lock xadd` on a line that
///   stays in that processor's cache; `leave` one more. `emptySlots` loads
///   every slot (`slotCount` lines, shared with their readers' caches).
/// - Memory: `slotCount × 128` bytes.
public final class ReaderSlots: @unchecked Sendable {
    // @unchecked Sendable: the slot words are allocated in `init`, freed in
    // `deinit`, and otherwise only read and written with atomic operations
    // (the C shims); `slotCount` is immutable.

    /// The number of slots: processors online rounded up to a power of two,
    /// 4 to 16 (`RangeLock.fastSlotCount`: on a machine with more processors
    /// than slots, two processors share a slot, which costs only a shared
    /// line).
    public let slotCount: Int
    /// Slot `i`'s counter is word `i × lineWords`.
    @usableFromInline let words: UnsafeMutablePointer<UInt64>
    /// Words per slot: two cache lines (adjacent-line prefetch fetches pairs).
    @usableFromInline static var lineWords: Int { 16 }

    /// `slotCount` slots (a power of two, 1 to 64), by default one per
    /// processor as `RangeLock` sizes its fast slots.
    public init(slotCount: Int = RangeLock.fastSlotCount) {
        precondition(slotCount >= 1 && slotCount <= 64 && slotCount & (slotCount - 1) == 0,
                     "ReaderSlots: slot count \(slotCount) is not a power of two in 1…64")
        self.slotCount = slotCount
        let n = slotCount * Self.lineWords
        let raw = UnsafeMutableRawPointer.allocate(byteCount: n * 8, alignment: 128)
        words = raw.bindMemory(to: UInt64.self, capacity: n)
        words.initialize(repeating: 0, count: n)
    }

    deinit {
        assert((0..<slotCount).allSatisfy { words[$0 * Self.lineWords] == 0 }, "ReaderSlots destroyed with a reader inside")
        words.deallocate()
    }

    /// Opens a read-side section; returns the slot to pass to `leave`.
    /// A full barrier: nothing the section loads is loaded before it.
    @inlinable @inline(__always)
    public func enter() -> Int { sections.enter() }

    /// Closes the section `enter` opened (its slot), after its last load.
    @inlinable @inline(__always)
    public func leave(_ slot: Int) { sections.leave(slot) }

    /// `enter` and `leave` without the object: what a hot path keeps, so
    /// that opening a section retains nothing (a retain and release of this
    /// object, whose reference count every reader would share, took 26 % of
    /// two threads' hits on different pages). Valid while the object lives.
    @frozen public struct Sections: @unchecked Sendable {
        // @unchecked Sendable: a pointer to the slot words, which are only
        // used with atomic operations; the owner keeps the object alive.
        @usableFromInline let words: UnsafeMutablePointer<UInt64>
        @usableFromInline let mask: Int
        @inlinable init(words: UnsafeMutablePointer<UInt64>, mask: Int) {
            self.words = words
            self.mask = mask
        }

        /// `ReaderSlots.enter`.
        @inlinable @inline(__always)
        public func enter() -> Int {
            let cpu = folio_current_cpu()
            let slot = cpu >= 0 ? Int(truncatingIfNeeded: cpu) & mask : 0
            folio_atomic_fetch_add64_seqcst(words + slot &* ReaderSlots.lineWords, 1)
            return slot
        }

        /// `ReaderSlots.leave`.
        @inlinable @inline(__always)
        public func leave(_ slot: Int) {
            folio_atomic_fetch_sub64_seqcst(words + slot &* ReaderSlots.lineWords, 1)
        }
    }

    /// The sections of this object, for a hot path to keep beside its
    /// owner's reference.
    public var sections: Sections { Sections(words: words, mask: slotCount - 1) }

    /// Runs `body` inside one read-side section.
    @inlinable @inline(__always)
    public func withSection<R>(_ body: () throws -> R) rethrows -> R {
        let slot = enter()
        defer { leave(slot) }
        return try body()
    }

    /// The mask of every slot (bit `i` for slot `i`): what a reclaimer still
    /// has to see empty when memory has just gone unreachable.
    public var allSlots: UInt64 { slotCount == 64 ? ~0 : (1 << UInt64(slotCount)) &- 1 }

    /// The slots at zero now (bit `i` for slot `i`), after a full fence that
    /// orders the caller's earlier stores — those that made memory
    /// unreachable — before the loads.
    public func emptySlots() -> UInt64 {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        var empty: UInt64 = 0
        for i in 0..<slotCount where folio_atomic_load64_seqcst(words + i * Self.lineWords) == 0 {
            empty |= 1 << UInt64(i)
        }
        return empty
    }

    /// Readers inside a section now, over all slots (a racy snapshot, for
    /// tests and diagnostics).
    public var readersInside: Int {
        (0..<slotCount).reduce(0) { $0 + Int(truncatingIfNeeded: folio_atomic_load64_relaxed(words + $1 * Self.lineWords)) }
    }
}
