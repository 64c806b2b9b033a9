import FolioLocks
import Logging
import Synchronization

/// Everything `PageCache.shutdown()` could not do, file by file — not only
/// the first failure.
public struct PageCacheShutdownError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file whose close by shutdown failed.
    public struct Failure: Sendable, Equatable {
        /// The file's name (its path, or the backend's label).
        public var path: String
        /// What failed: the writeback, fsync or close(2) error.
        public var error: FolioError
        /// A failure of the file `path` with `error`.
        public init(path: String, error: FolioError) {
            self.path = path
            self.error = error
        }
    }

    /// The files whose writeback, fsync or close(2) failed, in the order
    /// shutdown closed them. A file whose writeback or fsync failed stays
    /// open with its dirty pages (its handles still work; the next
    /// `shutdown()` tries it again); one where only close(2) failed is
    /// closed, its data synced.
    public var failures: [Failure]
    /// Errors of closing handles that were dropped without `close()`, not
    /// taken with `takeDroppedHandleErrors()` before: reported here rather
    /// than lost. (Such a file stayed cached with its dirty pages; shutdown
    /// wrote them, so unless it is also in `failures`, its data is on disk
    /// now.)
    public var droppedHandleErrors: [FolioError]

    /// An error listing `failures` and `droppedHandleErrors`.
    public init(failures: [Failure], droppedHandleErrors: [FolioError] = []) {
        self.failures = failures
        self.droppedHandleErrors = droppedHandleErrors
    }

    /// A summary line with the counts, then one indented line per failure
    /// and per dropped-handle error.
    public var description: String {
        var lines = ["page cache shutdown: \(failures.count) file(s) failed, \(droppedHandleErrors.count) dropped-handle error(s)"]
        lines += failures.map { "  \($0.path): \($0.error)" }
        lines += droppedHandleErrors.map { "  dropped handle: \($0)" }
        return lines.joined(separator: "\n")
    }
}

extension PageCache {
    /// Shuts the cache down, synchronously: stops background writeback and
    /// background collapse (waiting for a pass that is running), then closes
    /// every open file as the last `close()` would — writes back its dirty
    /// pages, fsyncs, drops its pages, closes its backend — whatever handles
    /// it has, including files whose dropped handles could not be closed.
    /// After it returns without error, every byte written through the cache
    /// before it is on disk.
    ///
    /// From its start on, the cache refuses new opens (`FolioError.shutDown`),
    /// and every operation on a handle of a file it closed throws
    /// `.shutDown` (`close()` of such a handle does nothing). It throws
    /// *every* failure at once (`PageCacheShutdownError`); a file whose
    /// writeback or fsync failed stays open with its dirty pages, as after a
    /// failed `close()`. Calling it again is safe: it retries such files
    /// and does nothing more (no error once they are closed).
    ///
    /// Blocks on I/O: from async code, call it off the cooperative pool
    /// (`PageCacheService` does).
    public func shutdown() throws(PageCacheShutdownError) {
        let start = ContinuousClock.now
        let failures: [PageCacheShutdownError.Failure] = shutdownTurn.withLock { _ in
            // Set before the open files are listed: an open that registers
            // its file after the listing sees it and closes the file again
            // (`openReportingJoin`).
            if !shutDownFlag.exchange(true, ordering: .sequentiallyConsistent) {
                logger.debug("shutting down", metadata: ["folio.open-files": "\(openFiles.current().count)"])
            }
            stopBackgroundWriteback()
            stopBackgroundCollapse()
            var failures: [PageCacheShutdownError.Failure] = []
            for mapping in openFiles.current() {
                let file = CachedFile(cache: self, mapping: mapping, isHandle: false)
                do throws(FolioError) {
                    if let closeError = try file.closeMapping() {
                        failures.append(.init(path: mapping.path, error: closeError))
                    }
                } catch {
                    failures.append(.init(path: mapping.path, error: error))
                }
            }
            pool.trim()
            return failures
        }
        let dropped = takeDroppedHandleErrors()
        exportMetrics()
        metrics.shutdown.recordInterval(since: start)
        for failure in failures {
            logger.debug("shutdown could not close a file", metadata: ["folio.path": "\(failure.path)", "folio.error": "\(failure.error)"])
        }
        logger.debug("shut down", metadata: ["folio.failures": "\(failures.count)", "folio.dropped-handle-errors": "\(dropped.count)"])
        if !failures.isEmpty || !dropped.isEmpty {
            throw PageCacheShutdownError(failures: failures, droppedHandleErrors: dropped)
        }
    }

    /// Whether `shutdown()` has been called.
    public var isShutDown: Bool { shutDownFlag.load(ordering: .sequentiallyConsistent) }

    func checkNotShutDown() throws(FolioError) {
        if isShutDown { throw .shutDown }
    }

    /// Keeps an error of closing a dropped handle for
    /// `takeDroppedHandleErrors()` (and `shutdown()`), counts and logs it.
    func recordDroppedHandleError(_ error: FolioError, path: String) {
        droppedHandleErrors.withLock { $0.append(error) }
        counters.droppedHandleErrors.wrappingAdd(1, ordering: .relaxed)
        logger.debug("closing a dropped handle failed", metadata: ["folio.path": "\(path)", "folio.error": "\(error)"])
    }
}
