@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The recheck after locking, forced deterministically for collapse and
/// split (white-box, through the replace hook that collapse and split call
/// with their locks held): a reader asleep on a folio that gets replaced
/// must wake, fail its recheck and read the new folio — which the hook marks
/// with different bytes, so reading the old one shows. And a view's entry
/// pointing at a replaced folio faults again.
@Suite struct LargeFolioRecheckTests {
    static let pageSize = 512
    static func strategies() -> [any LockStrategy] {
        [PerPageBitLocking(lot: ParkingLot(bucketCount: 1)), HybridFairLocking(lot: ParkingLot(bucketCount: 1)),
         HybridFairLocking.fair(lot: ParkingLot(bucketCount: 1)), PerInodeLocking(lot: ParkingLot(bucketCount: 1)),
         PerRangeLocking(lot: ParkingLot(bucketCount: 1))]
    }

    /// Reads copy under the lock (`optimisticReads` off): the sleeper is the
    /// point. An optimistic hit reads the old folio without waiting, which is
    /// right — the replacement holds the same bytes (the hook's mark is not a
    /// real write) — and is checked by `OptimisticReadTests`.
    func makeFile<S: LockStrategy>(_ strategy: S) throws -> (PageCache<S>, CachedFile<S>) {
        let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: Self.pageSize, capacity: 128 * Self.pageSize, maxFolioOrder: 3,
                                                                          optimisticReads: false))
        return (cache, try cache.open(backend: MemoryBackend()))
    }

    func page(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: Self.pageSize) }

    /// In the hook (locks held): starts `access` on another thread, waits
    /// until it is blocked on the replaced folio (per-page strategies: it
    /// pinned it and sleeps on its lock; the others: it waits for the range
    /// or file lock), then writes `mark` into page `index` of the new folio.
    func sleepThroughReplace<S: LockStrategy>(_ cache: PageCache<S>, page index: Int, mark: UInt8,
                                              _ access: @escaping @Sendable () -> [UInt8]) -> EventLog<[UInt8]> {
        let result = EventLog<[UInt8]>()
        cache.setReplaceHook { old, new in
            guard let stale = old.first(where: { $0.contains(PageIndex(UInt64(index))) }),
                  let fresh = new.first(where: { $0.contains(PageIndex(UInt64(index))) }) else { return }
            let pinsBefore = stale.pinCount
            spawnThread { result.append(access()) }
            if S.locksFolios {
                #expect(waitUntil { stale.pinCount > pinsBefore }, "the reader never pinned the old folio")
            }
            usleep(20_000)  // asleep on the lock by now
            fresh.bytes(of: PageIndex(UInt64(index)))?.initializeMemory(as: UInt8.self, repeating: mark, count: Self.pageSize)
        }
        return result
    }

    func collapseUnderSleeper<S: LockStrategy>(_ strategy: S) throws {
        let (cache, file) = try makeFile(strategy)
        for p in 0..<8 { try file.write(page(1), at: Int64(p * Self.pageSize)) }  // eight one-page folios
        let result = sleepThroughReplace(cache, page: 5, mark: 2) { (try? file.read(count: Self.pageSize, at: 5 * Int64(Self.pageSize))) ?? [0xEE] }
        let report = try file.compact()
        cache.setReplaceHook(nil)
        #expect(report.collapses == 1, "\(strategy.kind): \(report)")
        #expect(waitUntil { result.events.count == 1 })
        #expect(result.events.first == page(2), "\(strategy.kind): the sleeper read the collapsed (old) folio")
        #expect(file.mapping.table.lookupAndPin(PageIndex(5)).map { f -> UInt8 in defer { f.unpin() }; return f.order } == 3)
    }

    func splitUnderSleeper<S: LockStrategy>(_ strategy: S) throws {
        let (cache, file) = try makeFile(strategy)
        for p in 0..<8 { try file.write(page(1), at: Int64(p * Self.pageSize)) }
        try file.compact()  // one folio of 8 pages
        let before = try #require(file.mapping.table.lookupAndPin(PageIndex(2)))
        #expect(before.order == 3)
        before.unpin()
        let result = sleepThroughReplace(cache, page: 2, mark: 3) { (try? file.read(count: Self.pageSize, at: 2 * Int64(Self.pageSize))) ?? [0xEE] }
        try file.truncate(to: 6 * Int64(Self.pageSize))  // cuts the folio at page 6: a split
        cache.setReplaceHook(nil)
        #expect(cache.statistics.splits == 1, "\(strategy.kind): \(cache.statistics)")
        #expect(waitUntil { result.events.count == 1 })
        #expect(result.events.first == page(3), "\(strategy.kind): the sleeper read the split (old) folio")
        // The pieces: 0–3, 4–5 below the cut; 6 and 7 are gone.
        let orders = (0..<8).map { i -> Int in file.mapping.table.lookupAndPin(PageIndex(UInt64(i))).map { f -> Int in defer { f.unpin() }; return Int(f.order) } ?? -1 }
        #expect(orders == [2, 2, 2, 2, 1, 1, -1, -1], "\(strategy.kind): \(orders)")
    }

    @Test func aSleeperOnACollapsedFolioRetries() throws {
        for s in Self.strategies() { try collapseUnderSleeper(s) }
    }

    @Test func aSleeperOnASplitFolioRetries() throws {
        for s in Self.strategies() { try splitUnderSleeper(s) }
    }

    func viewEntries<S: LockStrategy>(_ strategy: S) throws {
        let (_, file) = try makeFile(strategy)
        for p in 0..<8 { try file.write(page(1), at: Int64(p * Self.pageSize)) }
        let view = try file.map(0..<(8 * Int64(Self.pageSize)), mode: .readOnly)
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize), count: Self.pageSize) == page(1))  // entry → the one-page folio
        // Collapsed: the entry names a detached folio; the next access faults again.
        #expect(try file.compact().collapses == 1)
        try file.write(page(4), at: 5 * Int64(Self.pageSize))
        let faults = view.statistics.faults
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize), count: Self.pageSize) == page(4), "\(strategy.kind): stale view entry after a collapse")
        #expect(view.statistics.faults == faults + 1)
        // In place over the whole large folio, then split by a truncate.
        #expect(try view.withUnsafeBytes(at: 0, count: 8 * Self.pageSize) { $0[5 * Self.pageSize] } == 4)
        try file.truncate(to: 6 * Int64(Self.pageSize))
        try file.write(page(5), at: 5 * Int64(Self.pageSize))
        #expect(try view.copyBytes(at: Int64(5 * Self.pageSize), count: Self.pageSize) == page(5), "\(strategy.kind): stale view entry after a split")
        // A view reading in place holds a mapped pin: no collapse under it.
        for p in 6..<8 { try file.write(page(6), at: Int64(p * Self.pageSize)) }
        let report = try view.withUnsafeBytes(at: Int64(5 * Self.pageSize), count: 1) { _ in try? file.compact() }
        #expect(report?.collapses == 0 && report?.aborts[.pinned] == 1, "\(strategy.kind): collapsed a folio a view was reading in place: \(String(describing: report))")
        #expect(try file.compact().collapses == 1, "\(strategy.kind): the collapse failed after the view let go")
    }

    @Test func viewEntriesOfReplacedFoliosFaultAgain() throws {
        for s in Self.strategies() { try viewEntries(s) }
    }
}
