import CoreMetrics

/// Where a cache's metrics go (`PageCache.init(…, metrics:)`).
public struct PageCacheMetricsOptions: Sendable {
    /// The factory the metrics are made with, once, at the cache's init.
    /// `nil`: `MetricsSystem.factory` as bootstrapped then (swift-metrics'
    /// no-op factory if the host bootstrapped none).
    public var factory: (any MetricsFactory)?
    /// Dimensions every metric of the cache carries, after `strategy`
    /// (for example `[("cache", "blobs")]` to tell two caches apart).
    public var dimensions: [(String, String)]

    /// Options with `factory` (nil: the bootstrapped one) and extra `dimensions`.
    public init(factory: (any MetricsFactory)? = nil, dimensions: [(String, String)] = []) {
        self.factory = factory
        self.dimensions = dimensions
    }
}
