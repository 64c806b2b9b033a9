import FolioLocks
import Synchronization

/// The cache's state for one open file (the kernel's `address_space`): its
/// backend, its size, its page table, and the writeback error waiting to be
/// reported. The part that does not depend on the lock strategy, so that a
/// folio can point back to it.
@usableFromInline
class MappingCore: @unchecked Sendable {
    // @unchecked Sendable: `size` and `isClosed` are atomic; `pendingError` is
    // accessed only under `errorLock`; `compressedBlocks` guards itself;
    // everything else is immutable.

    @usableFromInline let backend: any IOBackend
    /// The cache's folio pool (owned by the cache, which outlives every use
    /// of its files; unowned so that folios → mapping → pool is no cycle).
    @usableFromInline unowned(unsafe) let pool: FolioPool
    @usableFromInline let table: PageTable
    /// Logical file size in bytes (what `size` returns). Grows with writes
    /// (atomic max, under the invalidate lock shared), changes arbitrarily only
    /// in truncate (under the invalidate lock exclusive).
    @usableFromInline let size: Atomic<Int64>
    @usableFromInline let isClosed = Atomic<Bool>(false)
    @usableFromInline let pageSize: Int
    @usableFromInline let pageShift: Int
    /// The largest folio order this file's folios may have (the cache's).
    @usableFromInline let maxFolioOrder: Int
    /// Readahead state: the page after the last fill (`readaheadOrder`).
    /// Racy by design: concurrent streams only make a miss look random.
    @usableFromInline let readaheadNext = Atomic<UInt64>(0)
    /// The file's own counters (`CachedFile.fileStatistics`).
    @usableFromInline let counters = FileCounters()
    let errorLock = ShortLock(.writebackError)
    /// Writeback errors recorded so far (the kernel's errseq counter), and
    /// the latest; each handle reports every error recorded after it last
    /// reported one (`CachedFile.seenErrors`).
    var errorSequence: UInt64 = 0
    var latestError: FolioError?
    /// The blocks of this file's compressed folios, by folio index
    /// (`PageCache+Compression.swift`): a folio's entry changes only with
    /// its lock and whole range held.
    /// (A `ShortLock`, not `Mutex`: ThreadSanitizer does not see
    /// `Synchronization.Mutex`'s ordering and reports its accesses.)
    let compressedBlocks = Guarded<[UInt64: CompressedBlock]>([:], lockClass: .compressedBlocks)

    /// Unique among the mappings of this process (the S3-FIFO ghost's keys).
    let id: UInt64 = MappingCore.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    static let nextID = Atomic<UInt64>(1)

    init(backend: any IOBackend, pool: FolioPool, pageSize: Int, initialSize: Int64, maxFolioOrder: Int) {
        self.table = PageTable(blockShift: maxFolioOrder)
        self.backend = backend
        self.pool = pool
        self.pageSize = pageSize
        self.pageShift = pageSize.trailingZeroBitCount
        self.maxFolioOrder = maxFolioOrder
        self.size = Atomic(initialSize)
    }

    @usableFromInline var path: String { backend.path }

    /// Records a writeback failure (background, eviction-time, or a
    /// flush's own): every handle of the file reports it once, at its next
    /// flush / sync / close (the kernel's errseq semantics).
    func recordWritebackError(_ e: FolioError) {
        counters.writebackErrors.wrappingAdd(1, ordering: .relaxed)
        errorLock.withLock {
            errorSequence &+= 1
            latestError = e
        }
    }

    /// The writeback errors so far (a handle starts from here at open).
    var currentErrorSequence: UInt64 { errorLock.withLock { errorSequence } }

    /// The latest error recorded after `seen` errors, if any, and the count
    /// to remember as seen.
    func unseenError(after seen: UInt64) -> (FolioError?, UInt64) {
        errorLock.withLock { errorSequence == seen ? (nil, seen) : (latestError, errorSequence) }
    }

    /// Byte offset of a page.
    @inlinable @inline(__always) final func offset(of index: PageIndex) -> Int64 { Int64(bitPattern: index.rawValue) << pageShift }

    /// The file bytes a folio holds that lie below EOF `size`: how many of
    /// its bytes, from its start, are file data (0 if it lies wholly past).
    @inlinable final func bytesBelow(_ size: Int64, in folio: Folio) -> Int {
        let start = offset(of: folio.index)
        return start >= size ? 0 : Int(min(Int64(folio.byteCount), size - start))
    }
}

/// A mapping plus the strategy's per-file lock state.
@usableFromInline
final class Mapping<Strategy: LockStrategy>: MappingCore, @unchecked Sendable {
    // @unchecked Sendable: adds one immutable field to MappingCore.
    @usableFromInline let pageLock: Strategy.MappingLock

    init(backend: any IOBackend, pool: FolioPool, pageSize: Int, initialSize: Int64, maxFolioOrder: Int, pageLock: Strategy.MappingLock) {
        self.pageLock = pageLock
        super.init(backend: backend, pool: pool, pageSize: pageSize, initialSize: initialSize, maxFolioOrder: maxFolioOrder)
    }
}

/// A value behind a `ShortLock` (the parking-lot word lock ThreadSanitizer
/// sees through, unlike `Synchronization.Mutex`).
final class Guarded<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is read and written only under `lock`.
    private let lock: ShortLock
    private var value: Value
    init(_ value: Value, lockClass: LockClass) {
        self.value = value
        self.lock = ShortLock(lockClass)
    }

    #if DebugLocks
    func withLock<R>(file: StaticString = #fileID, line: UInt = #line, _ body: (inout Value) -> R) -> R {
        lock.lock(file: file, line: line)
        defer { lock.unlock(file: file, line: line) }
        return body(&value)
    }
    #else
    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
    #endif
}
