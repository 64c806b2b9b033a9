import FolioLocks
import Logging
import Synchronization

extension PageCache {
    /// Collapses every open file now (`CachedFile.compact()` on each): the
    /// on-demand form of the background collapser. Files closed meanwhile
    /// are skipped.
    @discardableResult
    public func compact() -> CompactionReport {
        var report = CompactionReport()
        for mapping in openFiles.current() {
            report.add(compact(mapping))
        }
        return report
    }

    func compact(_ mapping: Mapping<Strategy>) -> CompactionReport {
        let file = CachedFile(cache: self, mapping: mapping, isHandle: false)
        do throws(FolioError) { return try file.compact() } catch { return CompactionReport() }
    }

    /// Starts the background collapser (the khugepaged analogue): every
    /// `interval` (default: `configuration.compression.collapseInterval`), on
    /// a thread of its own, `compact()` over the open files — trylock only,
    /// so it never waits behind a user; a busy run is retried on a later
    /// pass. Starting it again restarts it with the new interval.
    public func startBackgroundCollapse(interval: Duration? = nil) throws(FolioError) {
        try checkNotShutDown()
        let every = interval ?? configuration.compression.collapseInterval
        guard every >= CompressionConfiguration.minimumInterval, every <= CompressionConfiguration.maximumInterval else {
            throw .invalidArgument("background collapse interval \(every) is not from \(CompressionConfiguration.minimumInterval) to \(CompressionConfiguration.maximumInterval)")
        }
        let worker = BackgroundWorker(interval: every, label: "folio.background-collapse")
        collapser.replace(with: worker)
        worker.start { [weak self] in
            guard let self else { return }
            let start = ContinuousClock.now
            let report = self.compact()
            self.metrics.collapsePass.recordInterval(since: start)
            self.logger.trace("background collapse pass", metadata: ["folio.collapses": "\(report.collapses)"])
        }
        logger.debug("background collapse started", metadata: ["folio.interval": "\(every)"])
    }

    /// Stops the background collapser; returns once a pass that is running
    /// has ended. Does nothing if it is not running.
    public func stopBackgroundCollapse() {
        collapser.replace(with: nil)
    }

    /// Whether the background collapser is running.
    public var isCollapsingInBackground: Bool { collapser.withLock { $0 != nil } }
}

extension PageCache {
    func runReplaceHook(_ old: [Folio], _ new: [Folio]) {
        if let hook = replaceHook.withLock({ $0 }) { hook(old, new) }
    }
}

/// Test hooks of a cache whose strategy type the test does not know.
package protocol PageCacheTestHooks: AnyObject {
    /// Sets the hook collapse and split call with their locks held, after
    /// the new folios got their bytes and before they replace the old ones
    /// (old folios, new folios): a test widens a race window there, or
    /// changes the new folios to tell them from the old.
    func setReplaceHook(_ hook: (@Sendable ([Folio], [Folio]) -> Void)?)
}

extension PageCache: PageCacheTestHooks {
    package func setReplaceHook(_ hook: (@Sendable ([Folio], [Folio]) -> Void)?) {
        replaceHook.withLock { $0 = hook }
    }
}
