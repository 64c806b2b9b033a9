@testable import FolioCache
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
    func run<S: LockStrategy>(_ strategy: S) throws {
        let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: 512))
        let file = try cache.open(backend: MemoryBackend())
        try file.write([UInt8](repeating: 1, count: 512), at: 5 * 512)
        let old = try #require(file.mapping.table.lookupAndPin(PageIndex(5)))
        strategy.lockFolio(old)  // the "truncator" holds the folio lock
        let result = EventLog<[UInt8]>()
        spawnThread {
            do { result.append(try file.read(count: 512, at: 5 * 512)) } catch { result.append([]) }
        }
        // Wait until the reader has pinned the folio (and so sleeps on its lock).
        #expect(waitUntil { old.pinCount == 2 })
        usleep(20_000)
        // Remove it as truncate/eviction would, then give page 5 new contents.
        #expect(file.mapping.table.remove(old, onlyIfUnpinned: false))
        cache.policy.remove(old)
        old.markUnlisted()
        try file.write([UInt8](repeating: 2, count: 512), at: 5 * 512)
        strategy.unlockFolio(old)
        old.unpin()
        #expect(waitUntil { result.events.count == 1 })
        #expect(result.events.first == [UInt8](repeating: 2, count: 512), "the reader returned the detached folio's bytes")
    }

    @Test func perPageBit() throws { try run(PerPageBitLocking(lot: ParkingLot(bucketCount: 1))) }
    @Test func hybrid() throws { try run(HybridFairLocking(lot: ParkingLot(bucketCount: 1))) }
    @Test func fair() throws { try run(HybridFairLocking.fair(lot: ParkingLot(bucketCount: 1))) }
}
