import Dispatch
import FolioLocks
import Synchronization

/// Background writeback for one cache: every `interval`, on its own serial
/// dispatch queue (so at most one pass runs at a time, on a thread of its
/// own, never on the Swift concurrency pool), writes back the dirty pages of
/// the cache's open files. Started by `PageCache.init` when
/// `PageCacheConfiguration.writebackInterval` is set; stopped when the cache
/// is deinitialized (the flusher holds the cache weakly, so it never keeps it
/// alive).
///
/// A pass only try-locks, like reclaim: a page that a user holds is skipped
/// and written on a later pass (or by the user's own flush). A failed write
/// keeps the page dirty and is reported to the file's next flush, sync or
/// close (errseq semantics), exactly like a reclaim writeback failure.
package final class BackgroundFlusher<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: `timer` is set once in `start` (before any other
    // thread can see the flusher) and only cancelled afterwards, which
    // Dispatch allows from any thread; `files` is behind a Mutex; `lifetime`
    // is Sendable.

    let interval: Duration
    private let queue = DispatchQueue(label: "folio.background-writeback")
    private var timer: (any DispatchSourceTimer)?
    private let files = Mutex<[WeakMapping<Strategy>]>([])
    /// Tells whether the timer has stopped (outlives the flusher, for tests).
    package let lifetime = FlusherLifetime()

    init(interval: Duration) {
        self.interval = interval
    }

    /// Starts the timer; `pass` runs every interval on the flusher's queue.
    func start(_ pass: @escaping @Sendable () -> Void) {
        let ns = Int(clamping: interval.nanosecondsClamped)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .nanoseconds(ns), repeating: .nanoseconds(ns), leeway: .nanoseconds(max(ns / 10, 1)))
        timer.setEventHandler(handler: pass)
        let lifetime = self.lifetime
        timer.setCancelHandler { lifetime.stopped.store(true, ordering: .releasing) }
        self.timer = timer
        timer.resume()
    }

    /// Adds an open file to the next passes.
    func register(_ mapping: Mapping<Strategy>) {
        files.withLock { $0.append(WeakMapping(mapping: mapping)) }
    }

    /// The files still open; forgets closed and released ones.
    func openMappings() -> [Mapping<Strategy>] {
        files.withLock { list in
            list.removeAll { $0.mapping.map { $0.isClosed.load(ordering: .acquiring) } ?? true }
            return list.compactMap(\.mapping)
        }
    }

    deinit {
        timer?.cancel()
    }
}

/// Whether a flusher's timer has been cancelled (its cancel handler ran).
package final class FlusherLifetime: Sendable {
    package let stopped = Atomic<Bool>(false)
}

struct WeakMapping<Strategy: LockStrategy> {
    weak var mapping: Mapping<Strategy>?
}

extension Duration {
    /// Whole nanoseconds, clamped to `Int64`.
    fileprivate var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}
