import Dispatch
import FolioCache
import Logging
import ServiceLifecycle

/// A `PageCache` as a swift-service-lifecycle `Service`: while it runs, the
/// cache writes back dirty pages in the background (and, if asked, collapses
/// runs of pages into large folios) and exports its metrics every
/// `metricsInterval`; on graceful shutdown — or when its task is cancelled
/// — it calls `cache.shutdown()` (every open file written back, fsynced and
/// closed) before `run()` returns.
///
/// ```swift
/// let cache = try PageCache(strategy: HybridFairLocking(), logger: logger)
/// let group = ServiceGroup(configuration: .init(
///     services: [PageCacheService(cache: cache), app],
///     gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
/// try await group.run()
/// ```
///
/// Put it before the services that use the cache in the group's list: a
/// group shuts its services down in reverse order, so those stop writing
/// before the cache closes its files.
///
/// The background passes run on the cache's own threads and `shutdown()`
/// on a Dispatch thread, never on the Swift concurrency pool (they block
/// on I/O). If `shutdown()` fails, `run()` throws its
/// `PageCacheShutdownError` (and the group reports it).
public struct PageCacheService<Strategy: LockStrategy>: Service, Sendable {
    /// The cache the service runs and, at the end, shuts down.
    public let cache: PageCache<Strategy>
    /// Background writeback's interval; nil leaves writeback as the cache
    /// has it (`configuration.writebackInterval`).
    public var writebackInterval: Duration?
    /// Background collapse's interval; nil leaves it as the cache has it
    /// (running if compression is on).
    public var collapseInterval: Duration?
    /// How often the metrics are exported (`PageCache.exportMetrics()`);
    /// nil: only at shutdown.
    public var metricsInterval: Duration?

    /// A service for `cache`: by default background writeback every second,
    /// collapse as the cache has it and metrics every 10 seconds.
    public init(
        cache: PageCache<Strategy>, writebackInterval: Duration? = .seconds(1), collapseInterval: Duration? = nil,
        metricsInterval: Duration? = .seconds(10)
    ) {
        self.cache = cache
        self.writebackInterval = writebackInterval
        self.collapseInterval = collapseInterval
        self.metricsInterval = metricsInterval
    }

    /// Starts background writeback and collapse (for the intervals that are
    /// set), exports the metrics every `metricsInterval` until graceful
    /// shutdown or cancellation, then shuts the cache down on a Dispatch
    /// thread and returns.
    ///
    /// - Throws: `FolioError` if background work cannot start (an interval out
    ///   of range, a cache already shut down), or the `PageCacheShutdownError`
    ///   of `cache.shutdown()`.
    public func run() async throws {
        if let writebackInterval { try cache.startBackgroundWriteback(interval: writebackInterval) }
        if let collapseInterval { try cache.startBackgroundCollapse(interval: collapseInterval) }
        cache.logger.debug("page cache service running")
        let cache = self.cache
        let metricsInterval = self.metricsInterval
        // Returns on graceful shutdown or cancellation.
        await cancelWhenGracefulShutdown {
            guard let every = metricsInterval else {
                // Sleeps until cancelled (the graceful shutdown cancels it).
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                return
            }
            while !Task.isCancelled {
                cache.exportMetrics()
                try? await Task.sleep(for: every)
            }
        }
        cache.logger.debug("page cache service shutting the cache down")
        try await Self.shutdownOffThePool(cache)
    }

    /// `cache.shutdown()` on a Dispatch thread (it blocks on writeback and
    /// fsync), resuming the caller when it is done.
    static func shutdownOffThePool(_ cache: PageCache<Strategy>) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try cache.shutdown()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
