import FolioCache
import FolioConfiguration
import FolioLocks
import Foundation
import Testing

/// File → configuration → cache: every key the engine uses takes effect.
@Suite struct RoundTripTests {
    @Test func everyExampleLoadsAndBuildsItsStrategy() throws {
        let files = exampleFiles()
        #expect(files.count == LockStrategyKind.allCases.count, "one example per strategy under docs/examples/")
        for kind in LockStrategyKind.allCases {
            let path = try #require(files.first { $0.hasSuffix("/\(kind.rawValue).toml") }, "docs/examples/\(kind).toml is missing")
            let configuration = try CacheConfiguration.load(file: path, environment: [:])
            #expect(configuration.lock.kind == kind, "\(path)")
            let cache = try AnyPageCache(configurationFile: path, environment: [:])
            #expect(cache.strategyKind == kind, "\(path)")
            #expect(cache.configuration == configuration.cache, "\(path)")
        }
    }

    @Test func everyKeyReachesTheCache() throws {
        let path = try temporaryFile("""
            [lock]
            strategy = "hybrid-fair"
            spin-limit = 7
            unfairness = 3
            max-wait = "250us"
            max-spinners = 2
            single-waker = true
            handoff-yield = true
            wait-table-buckets = 64

            [cache]
            capacity = "16KiB"
            page-size = "2KiB"
            max-folio-order = 3
            eviction = "lru"
            fault-around-pages = 9

            [compression]
            enabled = true
            min-saving = 0.5
            max-share = 0.5
            collapse-interval = "2min"

            [writeback]
            interval = "20ms"
            """)
        let cache = try AnyPageCache(configurationFile: path, environment: [:])
        #expect(cache.strategyKind == .hybridFair)
        let typed = try #require(cache.base as? PageCache<HybridFairLocking>)
        #expect(typed.strategy.policy == HybridLockPolicy(spinLimit: 7, unfairness: 3, maxWait: .microseconds(250),
                                                               maxSpinners: 2, singleWaker: true, yieldOnHandoff: true))
        #expect(typed.strategy.lot.bucketCount == 64)

        let c = cache.configuration
        #expect(c.pageSize == 2048)
        #expect(c.capacity == 16 * 1024)
        #expect(c.evictionPolicy == .lru)
        #expect(c.faultAroundPages == 9)
        #expect(c.maxFolioOrder == 3)
        #expect(c.compression == CompressionConfiguration(enabled: true, minimumSaving: 0.5, maximumShare: 0.5, collapseInterval: .seconds(120)))
        #expect(c.writebackInterval == .milliseconds(20))

        // The page size is what the engine caches in: one byte read makes one page resident.
        let backend = MemoryBackend(path: "mem", contents: [UInt8](repeating: 1, count: 64 * 1024))
        let file = try cache.open(backend: backend)
        _ = try file.read(count: 1, at: 0)
        #expect(cache.statistics.residentBytes == 2048)

        // The capacity is enforced: reading 64 KiB through a 16 KiB budget
        // evicts or (the bytes are all ones) compresses, within the share.
        for page in 0..<32 { _ = try file.read(count: 1, at: Int64(page * 2048)) }
        let s = cache.statistics
        #expect(s.residentBytes <= 16 * 1024)
        #expect(s.evictions + s.compressions >= 32 - 8)
        #expect(s.compressions > 0 && s.compressedBytes <= 8 * 1024 + 2048, "\(s)")
        try file.close()
    }

    @Test func perRangeFileGivesAPerRangeBuildTimeCache() throws {
        let path = try temporaryFile("[lock]\nstrategy = \"per-range\"\n[cache]\npage-size = \"8KiB\"\ncapacity = \"64KiB\"\n")
        let cache = try PageCache<PerRangeLocking>(configurationFile: path, environment: [:])
        #expect(cache.strategyKind == .perRange)
        #expect(cache.configuration.pageSize == 8192)
        #expect(cache.configuration.capacity == 65536)
    }

    @Test func presetFilesGiveTheirFixedPolicies() throws {
        let fair = try CacheConfiguration.parse(toml: "[lock]\nstrategy = \"fair\"\n")
        let cache = try PageCache<HybridFairLocking>(configuration: fair)
        #expect(cache.strategy.policy == .fair)
        #expect(cache.strategyKind == .fair)
    }

    @Test func defaultsWhenTheFileIsEmpty() throws {
        let c = try CacheConfiguration.parse(toml: "# nothing\n")
        #expect(c == CacheConfiguration())
        #expect(c.lock.kind == .hybridFair)
        #expect(c.cache.writebackInterval == nil)
    }
}
