import FolioCache
import FolioConfiguration
import FolioLocks
import Testing

/// `FOLIO_<TABLE>_<KEY>` overrides the file, key by key, with the same
/// checks (and messages naming the variable).
@Suite struct EnvironmentOverrideTests {
    @Test func variableNames() {
        #expect(ConfigurationKey.lockStrategy.environmentVariable == "FOLIO_LOCK_STRATEGY")
        #expect(ConfigurationKey.waitTableBuckets.environmentVariable == "FOLIO_LOCK_WAIT_TABLE_BUCKETS")
        #expect(ConfigurationKey.writebackInterval.environmentVariable == "FOLIO_WRITEBACK_INTERVAL")
        #expect(Set(ConfigurationKey.all.map(\.environmentVariable)).count == ConfigurationKey.all.count)
    }

    @Test func environmentWinsOverTheFile() throws {
        let toml = "[lock]\nstrategy = \"fair\"\n[cache]\ncapacity = \"1MiB\"\npage-size = \"4KiB\"\n"
        let env = [
            "FOLIO_LOCK_STRATEGY": "per-range",
            "FOLIO_CACHE_CAPACITY": "2MiB",
            "FOLIO_LOCK_SPIN_LIMIT": "12",
            "FOLIO_LOCK_UNFAIRNESS": "unbounded",
            "FOLIO_LOCK_MAX_WAIT": "unbounded",
            "FOLIO_COMPRESSION_ENABLED": "1",
            "FOLIO_COMPRESSION_MIN_SAVING": "0.125",
            "FOLIO_WRITEBACK_INTERVAL": "off",
            "FOLIO_CACHE_FAULT_AROUND_PAGES": "4",
            "FOLIO_SEED": "42",  // other FOLIO_ variables (test knobs) are not configuration
        ]
        let c = try CacheConfiguration.parse(toml: toml, source: "f.toml", environment: env)
        #expect(c.lock.kind == .perRange)
        #expect(c.cache.capacity == 2 << 20)
        #expect(c.cache.pageSize == 4096)  // from the file
        #expect(c.lock.hybridPolicy.spinLimit == 12)
        #expect(c.lock.hybridPolicy.unfairness == HybridLockPolicy.unbounded)
        #expect(c.lock.hybridPolicy.maxWait == nil)
        #expect(c.cache.compression.enabled)
        #expect(c.cache.compression.minimumSaving == 0.125)
        #expect(c.cache.writebackInterval == nil)
        #expect(c.cache.faultAroundPages == 4)
    }

    @Test func environmentAloneConfiguresACache() throws {
        let c = try CacheConfiguration.fromEnvironment(["FOLIO_LOCK_STRATEGY": "per-inode", "FOLIO_CACHE_PAGE_SIZE": "16KiB"])
        let cache = try AnyPageCache(configuration: c)
        #expect(cache.strategyKind == .perInode)
        #expect(cache.configuration.pageSize == 16384)
    }

    @Test func badEnvironmentValueNamesTheVariable() throws {
        let e = try #require(rejection("[lock]\nstrategy = \"fair\"\n", environment: ["FOLIO_LOCK_STRATEGY": "per-rnage"]))
        #expect(e.source == "environment variable FOLIO_LOCK_STRATEGY")
        #expect(e.description == "environment variable FOLIO_LOCK_STRATEGY: error: lock.strategy = \"per-rnage\": unknown lock strategy; allowed: per-page-bit, hybrid-fair, fair, barging, hybrid-kernel, per-inode, per-range")
        let n = try #require(rejection("", environment: ["FOLIO_LOCK_SPIN_LIMIT": "many"]))
        #expect(n.description.contains("expected an integer, found a string"))
        let b = try #require(rejection("", environment: ["FOLIO_COMPRESSION_ENABLED": "maybe"]))
        #expect(b.description.contains("expected true or false (or 1 or 0)"))
    }

    @Test func crossKeyChecksSeeTheOverriddenValues() throws {
        // The file's order is fine for 4 KiB pages; the environment's 64 KiB pages make it too large.
        let e = try #require(rejection("[cache]\ncapacity = \"1GiB\"\nmax-folio-order = 8\n", environment: ["FOLIO_CACHE_PAGE_SIZE": "64KiB"]))
        #expect(e.key == "cache.max-folio-order")
        #expect(e.line == 3)
        #expect(e.description.contains("too large for page-size 64KiB"))
    }
}
