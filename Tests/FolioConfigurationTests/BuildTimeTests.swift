import FolioCache
import FolioConfiguration
import FolioLocks
import Testing

/// The build-time paths: the trait-chosen `DefaultPageCache`, and the text
/// `folio-config` prints and generates.
@Suite struct BuildTimeTests {
    @Test func defaultPageCacheUsesTheTraitChosenStrategy() throws {
        let cache = try DefaultPageCache(configuration: PageCacheConfiguration(capacity: 1 << 20))
        #expect(cache.strategyKind == defaultLockStrategyKind)
        #if !(PerPageBitLock || FairLock || BargingLock || PerInodeLock || PerRangeLock)
        // No lock trait named: exactly one default, hybrid-fair.
        #expect(defaultLockStrategyKind == .hybridFair)
        #endif
        // A configuration naming the build's strategy builds a DefaultPageCache.
        let c = CacheConfiguration(lock: LockStrategyConfiguration(kind: defaultLockStrategyKind))
        #expect(try DefaultPageCache(configuration: c).strategyKind == defaultLockStrategyKind)
    }

    @Test func shownTextLoadsBackToTheSameConfiguration() throws {
        for path in exampleFiles() {
            let c = try CacheConfiguration.load(file: path, environment: [:])
            #expect(try CacheConfiguration.parse(toml: c.tomlText, source: "shown") == c, "\(path)")
        }
        let unbounded = try CacheConfiguration.parse(toml: "[lock]\nunfairness = \"unbounded\"\nmax-wait = \"unbounded\"\n")
        #expect(try CacheConfiguration.parse(toml: unbounded.tomlText) == unbounded)
    }

    @Test func generatedSourceSpellsEveryValue() throws {
        let toml = "[lock]\nstrategy = \"per-inode\"\nunfairness = \"unbounded\"\n[cache]\npage-size = \"16KiB\"\n[writeback]\ninterval = \"2s\"\n# a \"\"\"# tricky ## comment\n"
        let c = try CacheConfiguration.parse(toml: toml)
        let swift = c.swiftSource(fileName: "folio.toml", toml: toml)
        #expect(swift.contains("enum FolioEmbeddedConfiguration"))
        #expect(swift.contains("kind: .perInode"))
        #expect(swift.contains("unfairness: HybridLockPolicy.unbounded"))
        #expect(swift.contains("pageSize: 16384"))
        #expect(swift.contains("writebackInterval: .nanoseconds(2000000000)"))
        // The TOML text is embedded in a raw literal with more #s than any run in it.
        #expect(swift.contains("static let source = ###\"\"\"\n" + toml + "\n\"\"\"###"))
    }
}
