import FolioLocks
import Synchronization

extension PageCache {
    /// Starts background writeback: every `interval` (default:
    /// `configuration.writebackInterval`, else 1 s), on a thread of its
    /// own, the dirty pages of every open file are written back, trylock
    /// only (`backgroundWritebackPass`). Starting it again restarts it with
    /// the new interval. `configuration.writebackInterval` starts it at init;
    /// `PageCacheService` starts it while it runs.
    public func startBackgroundWriteback(interval: Duration? = nil) throws(FolioError) {
        try checkNotShutDown()
        let every = interval ?? configuration.writebackInterval ?? .seconds(1)
        guard every >= PageCacheConfiguration.minWritebackInterval, every <= PageCacheConfiguration.maxWritebackInterval else {
            throw .invalidArgument(
                "background writeback interval \(every) is not from \(PageCacheConfiguration.minWritebackInterval) to \(PageCacheConfiguration.maxWritebackInterval)")
        }
        let worker = BackgroundWorker(interval: every, label: "folio.background-writeback")
        writebackWorker.replace(with: worker)
        worker.start { [weak self] in
            guard let self else { return }
            let start = ContinuousClock.now
            self.backgroundWritebackPass()
            self.metrics.writebackPass.recordInterval(since: start)
        }
        logger.debug("background writeback started", metadata: ["folio.interval": "\(every)"])
    }

    /// Stops background writeback; returns once a pass that is running has
    /// ended. Does nothing if it is not running.
    public func stopBackgroundWriteback() {
        if writebackWorker.replace(with: nil) {
            logger.debug("background writeback stopped")
        }
    }

    /// Whether background writeback is running.
    public var isWritingBackInBackground: Bool { writebackWorker.withLock { $0 != nil } }

    /// The background writeback worker, if running (tests: its lifetime).
    package var flusher: BackgroundWorker? { writebackWorker.withLock { $0 } }
}
