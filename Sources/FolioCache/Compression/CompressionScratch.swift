#if canImport(Glibc)
import Glibc
#endif

/// The per-thread buffer `CompressedBlock.compress` compresses into before
/// it knows how big the result is.
///
/// **Why a scratch buffer.** LZ4 needs its destination before it starts, but
/// the block's allocation should be exactly the compressed size (that is what
/// the budget pays for). So compression goes here first and `compress` then
/// copies the bytes into an exactly-sized block: one extra `memcpy` of the
/// *compressed* bytes. Measured with the block's malloc and free, that is
/// 1.1 µs of the 55 µs a 64 KiB text folio takes (2 %; docs/performance.md,
/// "Compressed blocks"), so it stays. Allocating a worst-case buffer per
/// call instead would cost a malloc and free larger than the result.
///
/// **Per thread, not pooled.** The buffer is found through a pthread key: no
/// lock, no atomics, and no way for two threads to share one. It is freed by
/// the key's destructor when its thread exits.
///
/// **Memory.** A thread keeps at most one buffer, grown to the largest size it
/// has needed up to `retainedByteCount` (256 KiB: every folio up to 256 KiB,
/// so 64 KiB folios never allocate here after a thread's first). Larger
/// requests (512 KiB – 2 MiB folios) get a buffer for the call only, freed on
/// return; at that size malloc's cost is small beside LZ4's (~1 ms for 2 MiB).
/// So the scratch memory of a process is at most 256 KiB per thread that ever
/// compressed — not charged to any cache's budget.
///
/// **Rules.** `body` runs on the calling thread and must not keep the buffer,
/// hand it to another thread, or call `withBuffer` again (a nested call would
/// get the same bytes).
enum CompressionScratch {
    /// The largest buffer a thread keeps between calls.
    static let retainedByteCount = 256 << 10

    /// Bytes before the data in a retained buffer: its capacity (an `Int`),
    /// padded to malloc's 16-byte alignment.
    private static let prefixByteCount = 16

    /// The key of the calling thread's retained buffer (nil until its first
    /// call). Created once per process (Swift's lazy globals are
    /// initialized exactly once, thread-safely); never deleted.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { free($0) }
        precondition(rc == 0, "CompressionScratch: pthread_key_create failed (\(rc))")
        return key
    }()

    /// Calls `body` with at least `byteCount` bytes of uninitialized scratch
    /// memory that belongs to this thread for the duration of the call.
    static func withBuffer<R>(byteCount: Int, _ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        precondition(byteCount >= 0, "CompressionScratch: negative byte count \(byteCount)")
        guard byteCount <= retainedByteCount else {
            let once = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 16)
            defer { once.deallocate() }
            return body(once)
        }
        var block = pthread_getspecific(key)
        if block == nil || block!.load(as: Int.self) < byteCount {
            // Grow to the request (at least 64 KiB, so small folios do not
            // regrow it step by step). The old buffer holds nothing to keep.
            let capacity = max(byteCount, 64 << 10)
            free(block)
            guard let grown = malloc(prefixByteCount + capacity) else {
                fatalError("CompressionScratch: out of memory for \(capacity) bytes")
            }
            grown.storeBytes(of: capacity, as: Int.self)
            let rc = pthread_setspecific(key, grown)
            precondition(rc == 0, "CompressionScratch: pthread_setspecific failed (\(rc))")
            block = grown
        }
        return body(UnsafeMutableRawBufferPointer(start: block! + prefixByteCount, count: byteCount))
    }
}
