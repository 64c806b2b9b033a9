@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Testing

/// Reclaim that needs only part of a large folio splits it and evicts the
/// tail it needs; the rest stays cached, in large pieces, with its bytes.
@Suite struct LargeFolioReclaimTests {
    @Test(arguments: testedStrategies)
    func reclaimSplitsAFolioItNeedsOnlyPartOf(_ kind: LockStrategyKind) throws {
        let pageSize = 4096
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(
            pageSize: pageSize, capacity: 4 << 20, evictionPolicy: .lru, maxFolioOrder: 4))
        let contents = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 12) }
        let file = try cache.open(backend: MemoryBackend(contents: contents))
        #expect(try file.read(count: contents.count, at: 0) == contents)  // one 64 KiB folio (readahead)
        #expect(cache.statistics.readaheadFolios == 1 && cache.statistics.residentBytes == 64 << 10)
        cache.shrink(toBytes: (64 << 10) - 3 * pageSize)  // needs 12 KiB of it
        let s = cache.statistics
        #expect(s.splits == 1, "\(kind): \(s)")
        // The tail pages 13–15 (12 KiB) went, pages 0–12 stay: 0–7, 8–11, 12.
        #expect(s.residentBytes == 13 * pageSize && s.residentFolios == 3, "\(kind): \(s)")
        #expect(try file.read(count: contents.count, at: 0) == contents)
    }

    /// The benchmark's split-on-write stand-in (`CachedFile.split(at:)`)
    /// cuts a 64 KiB folio at the page asked for, the bytes intact, and
    /// `compact()` merges the pieces back.
    @Test func splitAtCutsAtThePageAndCompactMergesBack() throws {
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(
            pageSize: 4096, capacity: 4 << 20, maxFolioOrder: 4))
        let contents = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 12) }
        let file = try cache.open(backend: MemoryBackend(contents: contents))
        #expect(try file.read(count: contents.count, at: 0) == contents)
        #expect(file.split(at: 5 * 4096 + 17))
        // Pieces 0–3, 4, 5, 6–7, 8–15.
        #expect(file.mapping.table.count == 5 && cache.statistics.splits == 1, "\(cache.statistics)")
        #expect(file.mapping.table.lookupAndPin(PageIndex(5)).map { f in defer { f.unpin() }; return f.index.rawValue == 5 && f.order == 0 } == true)
        #expect(!file.split(at: 5 * 4096), "a one-page folio was split")
        #expect(try file.read(count: contents.count, at: 0) == contents)
        #expect(try file.compact().collapses == 1 && file.mapping.table.count == 1)
        #expect(try file.read(count: contents.count, at: 0) == contents)
    }
}
