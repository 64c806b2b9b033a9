import Synchronization

/// Which executor a cache's async API runs its blocking work on.
final class AsyncIOSettings: Sendable {
    let executor = Mutex<(any TaskExecutor)?>(nil)
    init() {}
}

extension PageCache {
    /// The executor the async API (`CachedFile.async`) runs disk I/O and
    /// waits it cannot suspend on: the one given to `setIOExecutor`, or
    /// `FolioIOExecutor.shared`. Never the cooperative pool.
    public var ioExecutor: any TaskExecutor {
        asyncIO.executor.withLock { $0 } ?? FolioIOExecutor.shared
    }

    /// Runs this cache's async blocking work on `executor` from now on (a
    /// `FolioIOExecutor` of your own, or any `TaskExecutor` whose threads may
    /// block — not one backed by the cooperative pool). `nil`: back to
    /// `FolioIOExecutor.shared`.
    public func setIOExecutor(_ executor: (any TaskExecutor)?) {
        asyncIO.executor.withLock { $0 = executor }
    }
}
