import CoreMetrics
import FolioCache
import FolioTestSupport
import Foundation
import Logging
import Metrics
import MetricsTestKit
import Testing

/// The cache logs at debug and trace only, never on a hit; it makes its
/// metrics once and exports them from its statistics.
@Suite struct LoggingTests {
    @Test func debugAndTraceOnlyAndNothingOnTheHitPath() throws {
        let kind = LockStrategyKind.perPageBit
        let (logger, logs) = CapturingLogHandler.logger(level: .trace)
        let cache = try PageCache(
            strategy: PerPageBitLocking(), configuration: .init(pageSize: 4096, writebackInterval: .milliseconds(1)), logger: logger)
        let file = try cache.open(backend: MemoryBackend(path: "logged", contents: Array(repeating: 1, count: 8192)))
        _ = try file.read(count: 10, at: 0)
        let before = logs.all.count
        for _ in 0..<1000 { _ = try file.read(count: 10, at: 0) }
        try file.write([2], at: 0)
        #expect(logs.all.count == before, "\(kind): reads or writes logged: \(logs.all[before...].map(\.message))")
        try file.close()
        try cache.shutdown()
        let messages = logs.all
        #expect(messages.allSatisfy { $0.level == .debug || $0.level == .trace }, "\(messages)")
        for expected in ["opened", "closed", "background writeback started", "shutting down", "shut down"] {
            #expect(messages.contains { $0.message == expected }, "no '\(expected)' in \(messages.map(\.message))")
        }
    }

    /// At the default level (`.info`) nothing comes out.
    @Test func silentAtInfo() throws {
        let (logger, logs) = CapturingLogHandler.logger(level: .info)
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: 4096), logger: logger)
        let file = try cache.open(backend: MemoryBackend(path: "quiet"))
        try file.write([1], at: 0)
        try file.close()
        try cache.shutdown()
        #expect(logs.all.isEmpty, "\(logs.all)")
    }
}

@Suite struct MetricsTests {
    @Test(arguments: [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange])
    func countersFollowTheStatisticsAndAreMadeOnce(_ kind: LockStrategyKind) throws {
        let metrics = TestMetrics()
        let cache = try AnyPageCacheMaker.make(kind, metrics: .init(factory: metrics, dimensions: [("cache", "test")]))
        let file = try cache.open(backend: MemoryBackend(path: "m", contents: Array(repeating: 1, count: 4 * 4096)))
        let made = metrics.counters.count + metrics.recorders.count + metrics.timers.count
        #expect(made >= 20, "the metrics are made at init: \(made)")
        for _ in 0..<10 { _ = try file.read(count: 10, at: 0) }  // 1 miss, 9 hits
        try file.write([2], at: 4096 * 3)
        try file.flush()
        cache.exportMetrics()
        let dims = [("strategy", kind.description), ("cache", "test")]
        let s = cache.statistics
        #expect(s.hits == 9 && s.misses >= 1)
        #expect(try metrics.expectCounter("folio_cache_hits_total", dims).totalValue == 9)
        #expect(try metrics.expectCounter("folio_cache_misses_total", dims).totalValue == Int64(s.misses))
        #expect(try metrics.expectCounter("folio_cache_writebacks_total", dims).totalValue == 1)
        #expect(try metrics.expectGauge("folio_cache_resident_bytes", dims).lastValue == Double(s.residentBytes))
        #expect(try metrics.expectGauge("folio_cache_open_files", dims).lastValue == 1)
        // A second export adds only what changed since.
        _ = try file.read(count: 10, at: 0)
        cache.exportMetrics()
        cache.exportMetrics()
        #expect(try metrics.expectCounter("folio_cache_hits_total", dims).totalValue == 10)
        // Nothing was made per operation or export.
        #expect(metrics.counters.count + metrics.recorders.count + metrics.timers.count == made)
        try file.close()
        try cache.shutdown()
        #expect(try metrics.expectTimer("folio_cache_shutdown_duration_seconds", dims).values.count == 1)
        #expect(try metrics.expectCounter("folio_cache_hits_total", dims).totalValue == 10)
    }

    /// Lock waits, handoffs and steals come from the strategy's statistics.
    @Test func lockCountersAreExported() throws {
        let metrics = TestMetrics()
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: 4096), metrics: .init(factory: metrics))
        let file = try cache.open(backend: MemoryBackend(path: "contended", contents: Array(repeating: 1, count: 4096)))
        runThreads(4) { _ in
            for i in 0..<stressIterations(3000) { try? file.write([UInt8(truncatingIfNeeded: i)], at: 0) }
        }
        cache.exportMetrics()
        let locks = cache.strategy.statistics.snapshot
        let dims = [("strategy", "hybrid-fair")]
        #expect(try metrics.expectCounter("folio_cache_lock_waits_total", dims).totalValue == Int64(locks.slowAcquisitions))
        #expect(try metrics.expectCounter("folio_cache_lock_handoffs_total", dims).totalValue == Int64(locks.handoffs))
        #expect(try metrics.expectCounter("folio_cache_lock_steals_total", dims).totalValue == Int64(locks.lostRaces))
        try file.close()
    }

    /// Background passes record their duration.
    @Test func backgroundPassesAreTimed() async throws {
        let metrics = TestMetrics()
        let cache = try PageCache(
            strategy: PerPageBitLocking(), configuration: .init(pageSize: 4096, writebackInterval: .milliseconds(2)), metrics: .init(factory: metrics))
        let timer = try metrics.expectTimer("folio_cache_writeback_pass_duration_seconds", [("strategy", "per-page-bit")])
        var waited = 0
        while timer.values.isEmpty && waited < 5000 {
            try await Task.sleep(for: .milliseconds(5))
            waited += 5
        }
        #expect(!timer.values.isEmpty)
        try cache.shutdown()
    }
}

/// A cache of the strategy `kind`, with metrics.
enum AnyPageCacheMaker {
    static func make(_ kind: LockStrategyKind, metrics: PageCacheMetricsOptions) throws -> any PageCacheProtocol {
        let configuration = PageCacheConfiguration(pageSize: 4096, capacity: 1 << 20)
        switch kind {
        case .perPageBit: return try PageCache(strategy: PerPageBitLocking(), configuration: configuration, metrics: metrics)
        case .perInode: return try PageCache(strategy: PerInodeLocking(), configuration: configuration, metrics: metrics)
        case .perRange: return try PageCache(strategy: PerRangeLocking(), configuration: configuration, metrics: metrics)
        default: return try PageCache(strategy: HybridFairLocking(), configuration: configuration, metrics: metrics)
        }
    }
}

extension PageCacheProtocol {
    func open(backend: any IOBackend) throws(FolioError) -> any CachedFileProtocol { try openFile(backend: backend, mode: nil) }
}
