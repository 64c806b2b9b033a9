@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The recheck after locking a folio, forced deterministically (white-box):
/// a reader finds the folio of page 5, pins it and goes to sleep on its lock;
/// meanwhile the folio is removed from the page table (as truncate or
/// eviction would) and page 5 gets new contents in a new folio. When the reader
/// wakes it must notice that its folio is detached and look again — never
/// return the old folio's bytes.
@Suite struct RecheckTests {
    /// The scenario: page 5 holds 1s; the "truncator" holds its folio's lock
    /// while `access` runs on another thread and sleeps on that lock; the
    /// folio is removed (as truncate or eviction would) and page 5 rewritten
    /// with 2s in a new folio; then the lock is released. Returns the file
    /// and what `access` returned.
    ///
    /// Reads run with `optimisticReads` off: an optimistic read hit does not
    /// wait for the lock at all (it copies the folio, which is still the
    /// page's, and validates: `OptimisticReadTests`); the locked path this
    /// checks is its fallback.
    func detachWhileWaiting<S: LockStrategy>(_ strategy: S, _ access: @escaping @Sendable (CachedFile<S>) throws -> [UInt8]) throws
        -> (CachedFile<S>, [UInt8]?)
    {
        let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: 512, optimisticReads: false))
        let file = try cache.open(backend: MemoryBackend())
        try file.write([UInt8](repeating: 1, count: 512), at: 5 * 512)
        let old = try #require(file.mapping.table.lookupAndPin(PageIndex(5)))
        strategy.lockFolio(old)
        let result = EventLog<[UInt8]>()
        spawnThread {
            do { result.append(try access(file)) } catch { result.append([0xEE]) }
        }
        // Wait until the accessor has pinned the folio (and so sleeps on its lock).
        #expect(waitUntil { old.pinCount == 2 })
        usleep(20_000)
        #expect(file.mapping.table.remove(old, onlyIfUnpinned: false))
        cache.policy.remove(old)
        old.markUnlisted()
        // Rewritten by another thread: this one holds a folio lock, and a
        // write takes the invalidate lock, which comes before folio locks in
        // the lock order (docs/locking.md; the DebugLocks checker reports
        // the inversion).
        let rewritten = EventLog<Bool>()
        #expect(finishes(within: 10) {
            rewritten.append((try? file.write([UInt8](repeating: 2, count: 512), at: 5 * 512)) != nil)
        })
        #expect(rewritten.events == [true])
        strategy.unlockFolio(old)
        old.unpin()
        #expect(waitUntil { result.events.count == 1 })
        return (file, result.events.first)
    }

    /// A reader must notice that its folio is detached and look again —
    /// never return the old folio's bytes.
    func run<S: LockStrategy>(_ strategy: S) throws {
        let (_, got) = try detachWhileWaiting(strategy) { file in try file.read(count: 512, at: 5 * 512) }
        #expect(got == [UInt8](repeating: 2, count: 512), "the reader returned the detached folio's bytes")
    }

    /// The same for the view fault path: a view read must not return the
    /// detached folio's bytes, and a view write must not land in it (it would
    /// be lost: the page's new folio is the one that is written back).
    func runFault<S: LockStrategy>(_ strategy: S, write: Bool) throws {
        let (file, got) = try detachWhileWaiting(strategy) { file in
            let view = try file.map(0..<(8 * 512), mode: .readWrite)
            if write {
                try view.store([3], at: 5 * 512)
                return []
            }
            return try view.copyBytes(at: 5 * 512, count: 512)
        }
        if write {
            #expect(got == [])
            #expect(try file.read(count: 2, at: 5 * 512) == [3, 2], "the view write went to the detached folio")
        } else {
            #expect(got == [UInt8](repeating: 2, count: 512), "the view fault returned the detached folio's bytes")
        }
    }

    @Test(arguments: [false, true])
    func viewFault(write: Bool) throws {
        try runFault(PerPageBitLocking(lot: ParkingLot(bucketCount: 1)), write: write)
        try runFault(HybridFairLocking(lot: ParkingLot(bucketCount: 1)), write: write)
        try runFault(HybridFairLocking.fair(lot: ParkingLot(bucketCount: 1)), write: write)
    }

    @Test func perPageBit() throws { try run(PerPageBitLocking(lot: ParkingLot(bucketCount: 1))) }
    @Test func hybrid() throws { try run(HybridFairLocking(lot: ParkingLot(bucketCount: 1))) }
    @Test func fair() throws { try run(HybridFairLocking.fair(lot: ParkingLot(bucketCount: 1))) }
}
