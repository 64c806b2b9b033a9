import FolioCache

// Prints what .ci/run checks: the trait-selected default strategy, and the
// embedded configuration reaching a cache.
let embedded = FolioEmbeddedConfiguration.value
let cache = try DefaultPageCache(configuration: embedded)
print("default-strategy: \(defaultLockStrategyKind)")
print("cache-strategy: \(cache.strategyKind)")
print("embedded: \(FolioEmbeddedConfiguration.fileName) page-size=\(cache.configuration.pageSize) capacity=\(cache.configuration.capacity) eviction=\(cache.configuration.evictionPolicy) writeback=\(cache.configuration.writebackInterval.map { "\($0)" } ?? "off")")
