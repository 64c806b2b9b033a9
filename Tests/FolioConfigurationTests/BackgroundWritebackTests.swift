import FolioCache
import FolioConfiguration
import Foundation
import Testing

/// `writeback.interval` starts a flusher that writes dirty pages without an
/// explicit flush, and stops with the cache.
@Suite struct BackgroundWritebackTests {
    /// Polls `condition` for up to `seconds`.
    func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2_000)
        }
        return condition()
    }

    @Test(arguments: LockStrategyKind.allCases)
    func dirtyDataReachesTheBackendWithoutAFlush(_ kind: LockStrategyKind) throws {
        let c = try CacheConfiguration.parse(toml: "[lock]\nstrategy = \"\(kind)\"\n[cache]\npage-size = \"1KiB\"\n[writeback]\ninterval = \"10ms\"\n")
        let cache = try AnyPageCache(configuration: c)
        let backend = MemoryBackend(path: "mem")
        let file = try cache.open(backend: backend)
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try file.write(payload, at: 100)
        #expect(eventually { backend.contents.count == 3100 && Array(backend.contents[100...]) == payload },
                "the flusher did not write the dirty pages back")
        #expect(cache.statistics.writebacks >= 3)
        try file.close()
    }

    @Test func withoutAnIntervalNothingIsWrittenUntilFlush() throws {
        let cache = try AnyPageCache(configuration: CacheConfiguration.parse(toml: "[cache]\npage-size = \"1KiB\"\n"))
        let backend = MemoryBackend(path: "mem")
        let file = try cache.open(backend: backend)
        try file.write([1, 2, 3], at: 0)
        usleep(50_000)
        #expect(backend.contents.isEmpty)
        try file.flush()
        #expect(backend.contents == [1, 2, 3])
    }

    @Test func aFailedBackgroundWriteIsReportedToTheNextFlush() throws {
        let c = try CacheConfiguration.parse(toml: "[cache]\npage-size = \"1KiB\"\n[writeback]\ninterval = \"5ms\"\n")
        let cache = try PageCache(strategy: PerPageBitLocking(), configuration: c.cache)
        let backend = MemoryBackend(path: "mem")
        let file = try cache.open(backend: backend)
        backend.failNextWrites(1)
        try file.write([9, 9], at: 0)
        // The first background pass fails, a later one succeeds; the error waits for flush.
        #expect(eventually { backend.contents == [9, 9] })
        #expect(throws: FolioError.self) { try file.flush() }
        try file.flush()
        try file.close()
    }

    @Test func theFlusherStopsWithTheCache() throws {
        final class WeakReference: @unchecked Sendable {
            // @unchecked Sendable: only read and written by this test's thread.
            weak var cache: PageCache<PerRangeLocking>?
        }
        let c = try CacheConfiguration.parse(toml: "[lock]\nstrategy = \"per-range\"\n[writeback]\ninterval = \"5ms\"\n")
        let weak = WeakReference()
        let lifetime: FlusherLifetime = try {
            let cache = try PageCache<PerRangeLocking>(configuration: c)
            weak.cache = cache
            let file = try cache.open(backend: MemoryBackend(path: "mem"))
            try file.write([1], at: 0)
            try file.close()
            return try #require(cache.flusher?.lifetime)
        }()
        // The flusher holds the cache weakly, so dropping the cache (and its
        // file, which refers to it) frees it and cancels the timer.
        #expect(eventually { weak.cache == nil }, "the flusher kept the cache alive")
        #expect(eventually { lifetime.stopped.load(ordering: .acquiring) }, "the flusher's timer was not cancelled")
    }
}
