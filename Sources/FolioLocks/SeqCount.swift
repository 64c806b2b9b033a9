import CFolioShims
import Synchronization

/// A **sequence count** (Linux's `seqcount_t`): lets readers copy data without
/// taking the lock its writers hold, and find out afterwards whether a writer
/// ran meanwhile.
///
/// The count is even while nobody writes and odd while a writer changes the
/// data. A writer — which must already exclude other writers, with a lock —
/// makes it odd before its first store and even again after its last. A
/// reader loads the count (`readBegin`), copies the data, and checks that
/// the count is still the one it began with (`readValidate`): if so, no write
/// overlapped the copy and it is a consistent snapshot; if not, it throws the
/// copy away and tries again (or takes the lock).
///
/// - Guarantees: a validated copy saw no store of any write that was not
///   complete before `readBegin` — whole-copy atomicity against writers,
///   without the reader writing to shared memory.
/// - Cost: a writer pays two plain stores and a fence (no read-modify-write:
///   writers are serialised by their lock); a reader two loads and a fence
///   (on x86 the fences are compiler barriers only).
/// - The copy itself races with writers by design (validated afterwards, as
///   in the kernel): `racyCopy` does it and tells ThreadSanitizer to ignore it.
///   The memory must stay valid for the reader meanwhile — Folio's readers
///   copy inside a `ReaderSlots` section, which keeps the buffer from going
///   back to malloc (or pin the folio).
///
/// Memory ordering follows Boehm, "Can seqlocks get along with programming
/// language memory models?" (MSPC 2012): the writer's release fence after
/// the odd store, the reader's acquire fence before re-loading the count.
public enum SeqCount {
    /// Begins a write: the count goes odd. The caller holds the writers' lock.
    @inlinable
    public static func beginWrite(_ word: borrowing Atomic<UInt64>) {
        let v = word.load(ordering: .relaxed)
        assert(v & 1 == 0, "SeqCount.beginWrite inside a write")
        word.store(v &+ 1, ordering: .relaxed)
        // Orders the odd count before the data stores that follow: a reader
        // that sees any of them sees the odd count on its re-check.
        atomicMemoryFence(ordering: .releasing)
    }

    /// Ends a write: the count goes even again, after every data store.
    @inlinable
    public static func endWrite(_ word: borrowing Atomic<UInt64>) {
        let v = word.load(ordering: .relaxed)
        assert(v & 1 == 1, "SeqCount.endWrite without beginWrite")
        word.store(v &+ 1, ordering: .releasing)
    }

    /// Runs `body` as one write (between `beginWrite` and `endWrite`).
    @inlinable
    public static func write<R, E: Error>(_ word: borrowing Atomic<UInt64>, _ body: () throws(E) -> R) throws(E) -> R {
        beginWrite(word)
        defer { endWrite(word) }
        return try body()
    }

    /// The count to validate a copy against, or nil while a writer is inside
    /// (the copy would be torn for certain: take the lock instead). Acquire:
    /// the data of every write that ended before it is visible to the copy.
    @inlinable
    public static func readBegin(_ word: borrowing Atomic<UInt64>) -> UInt64? {
        let v = word.load(ordering: .acquiring)
        return v & 1 == 0 ? v : nil
    }

    /// Whether no write began since `readBegin` returned `start`: the data
    /// read in between is a consistent snapshot.
    @inlinable
    public static func readValidate(_ word: borrowing Atomic<UInt64>, _ start: UInt64) -> Bool {
        // The copy's loads complete before the count is loaded again.
        atomicMemoryFence(ordering: .acquiring)
        return word.load(ordering: .relaxed) == start
    }

    /// Copies `count` bytes from memory a writer may be changing (a reader
    /// between `readBegin` and `readValidate`). ThreadSanitizer ignores the
    /// copy: its race with the writer is the point, and validation decides.
    @inlinable
    public static func racyCopy(to dst: UnsafeMutableRawPointer, from src: UnsafeRawPointer, count: Int) {
        folio_racy_copy(dst, src, count)
    }
}
