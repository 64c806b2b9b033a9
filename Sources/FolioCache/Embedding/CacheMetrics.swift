import CoreMetrics
import FolioLocks
import Synchronization

/// A cache's swift-metrics instruments, made once at the cache's init and
/// never per operation (a `Counter(label:)` per call costs 50–80 ns; one
/// made once and bumped, ~2 ns).
///
/// The hit path touches none of them: the counters and gauges are brought
/// up to date from the cache's own counters (`CacheStatistics`, the
/// strategy's `LockStatistics`) by `PageCache.exportMetrics()` — which
/// `PageCacheService` calls periodically and `shutdown()` once more —
/// incrementing each counter by what changed since the last export. The
/// timers are recorded where the work is: once per background pass and per
/// shutdown. Names and dimensions: docs/service.md, "Metrics".
final class CacheMetrics: Sendable {
    let hits, misses, evictions, writebacks, writebackErrors, droppedHandleErrors: Counter
    let lockWaits, lockParks, lockHandoffs, lockSteals, lockWaitNanoseconds: Counter
    let collapses, splits, compressions, decompressions, optimisticReadRetries: Counter
    let residentBytes, compressedBytes, compressionSavedBytes, openFiles: Gauge
    let writebackPass, collapsePass, shutdown: Timer
    /// What the counters were last brought up to.
    private let exported = Mutex<Exported>(Exported())

    struct Exported {
        /// Nil before the first export (every counter then starts from 0).
        var cache: CacheStatistics? = nil
        var locks: LockStatistics.Snapshot? = nil
        var droppedHandleErrors: UInt64 = 0
    }

    /// Every metric's name, for docs and tests.
    static let counterNames = [
        "folio_cache_hits_total", "folio_cache_misses_total", "folio_cache_evictions_total", "folio_cache_writebacks_total",
        "folio_cache_writeback_errors_total", "folio_cache_dropped_handle_errors_total",
        "folio_cache_lock_waits_total", "folio_cache_lock_parks_total", "folio_cache_lock_handoffs_total",
        "folio_cache_lock_steals_total", "folio_cache_lock_wait_nanoseconds_total",
        "folio_cache_collapses_total", "folio_cache_splits_total", "folio_cache_compressions_total",
        "folio_cache_decompressions_total", "folio_cache_optimistic_read_retries_total",
    ]

    init(options: PageCacheMetricsOptions, strategy: LockStrategyKind) {
        let factory = options.factory ?? MetricsSystem.factory
        let dimensions = [("strategy", strategy.description)] + options.dimensions
        func counter(_ name: String) -> Counter { Counter(label: name, dimensions: dimensions, factory: factory) }
        func gauge(_ name: String) -> Gauge { Gauge(label: name, dimensions: dimensions, factory: factory) }
        func timer(_ name: String) -> Timer { Timer(label: name, dimensions: dimensions, factory: factory) }
        hits = counter("folio_cache_hits_total")
        misses = counter("folio_cache_misses_total")
        evictions = counter("folio_cache_evictions_total")
        writebacks = counter("folio_cache_writebacks_total")
        writebackErrors = counter("folio_cache_writeback_errors_total")
        droppedHandleErrors = counter("folio_cache_dropped_handle_errors_total")
        lockWaits = counter("folio_cache_lock_waits_total")
        lockParks = counter("folio_cache_lock_parks_total")
        lockHandoffs = counter("folio_cache_lock_handoffs_total")
        lockSteals = counter("folio_cache_lock_steals_total")
        lockWaitNanoseconds = counter("folio_cache_lock_wait_nanoseconds_total")
        collapses = counter("folio_cache_collapses_total")
        splits = counter("folio_cache_splits_total")
        compressions = counter("folio_cache_compressions_total")
        decompressions = counter("folio_cache_decompressions_total")
        optimisticReadRetries = counter("folio_cache_optimistic_read_retries_total")
        residentBytes = gauge("folio_cache_resident_bytes")
        compressedBytes = gauge("folio_cache_compressed_bytes")
        compressionSavedBytes = gauge("folio_cache_compression_saved_bytes")
        openFiles = gauge("folio_cache_open_files")
        writebackPass = timer("folio_cache_writeback_pass_duration_seconds")
        collapsePass = timer("folio_cache_collapse_pass_duration_seconds")
        shutdown = timer("folio_cache_shutdown_duration_seconds")
    }

    /// Brings every counter and gauge up to `s`, `locks` and the dropped-
    /// handle error count (one export at a time; counters only grow: a
    /// lock statistics `reset()` since the last export adds nothing).
    func export(_ s: CacheStatistics, locks: LockStatistics.Snapshot, droppedHandleErrors dropped: UInt64, openFiles files: Int) {
        exported.withLock { last in
            func bump(_ counter: Counter, _ now: UInt64, _ before: UInt64?) {
                let before = before ?? 0
                if now > before { counter.increment(by: Int64(clamping: now - before)) }
            }
            bump(hits, s.hits, last.cache?.hits)
            bump(misses, s.misses, last.cache?.misses)
            bump(evictions, s.evictions, last.cache?.evictions)
            bump(writebacks, s.writebacks, last.cache?.writebacks)
            bump(writebackErrors, s.writebackErrors, last.cache?.writebackErrors)
            bump(droppedHandleErrors, dropped, last.droppedHandleErrors)
            bump(lockWaits, locks.slowAcquisitions, last.locks?.slowAcquisitions)
            bump(lockParks, locks.parks, last.locks?.parks)
            bump(lockHandoffs, locks.handoffs, last.locks?.handoffs)
            bump(lockSteals, locks.lostRaces, last.locks?.lostRaces)
            bump(lockWaitNanoseconds, locks.totalWaitNanoseconds, last.locks?.totalWaitNanoseconds)
            bump(collapses, s.collapses, last.cache?.collapses)
            bump(splits, s.splits, last.cache?.splits)
            bump(compressions, s.compressions, last.cache?.compressions)
            bump(decompressions, s.decompressions, last.cache?.decompressions)
            bump(optimisticReadRetries, s.optimisticReadRetries, last.cache?.optimisticReadRetries)
            residentBytes.record(s.residentBytes)
            compressedBytes.record(s.compressedBytes)
            compressionSavedBytes.record(max(0, s.logicalBytes - s.residentBytes))
            openFiles.record(files)
            last = Exported(cache: s, locks: locks, droppedHandleErrors: dropped)
        }
    }
}

extension Timer {
    /// Records the time since `start`.
    func recordInterval(since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        recordNanoseconds(seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000)
    }
}

extension PageCache {
    /// Brings the cache's metrics up to date (counters by what changed since
    /// the last export, gauges to their current value). Cheap — a statistics
    /// snapshot and a call per metric — and never on the hit path:
    /// `PageCacheService` calls it every `metricsInterval`, `shutdown()`
    /// once more; call it yourself to export without the service.
    public func exportMetrics() {
        let s = statistics
        metrics.export(
            s, locks: strategy.statistics.snapshot, droppedHandleErrors: counters.droppedHandleErrors.load(ordering: .relaxed),
            openFiles: openFiles.current().count)
    }
}
