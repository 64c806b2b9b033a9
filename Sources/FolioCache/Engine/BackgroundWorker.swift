import Dispatch
import FolioLocks
import Synchronization

/// A cache's periodic background work — writeback (`writebackInterval`)
/// and collapse (`PageCache.startBackgroundCollapse`): every `interval`, on
/// its own serial dispatch queue (so at most one pass runs at a time, on a
/// thread of its own, never on the Swift concurrency pool), runs a pass over
/// the cache's open files. Stopped by `stop()` or when the worker is
/// deinitialized with its cache (the pass holds the cache weakly, so the
/// worker never keeps it alive).
///
/// A pass only try-locks, like reclaim: a page that a user holds is skipped
/// and handled on a later pass. A failed writeback keeps the page dirty and
/// is reported to the file's next flush, sync or close (errseq semantics),
/// exactly like a reclaim writeback failure.
package final class BackgroundWorker: @unchecked Sendable {
    // @unchecked Sendable: `timer` is set once in `start` (before any other
    // thread can see the worker) and only cancelled afterwards, which
    // Dispatch allows from any thread; `lifetime` is Sendable.

    let interval: Duration
    private let queue: DispatchQueue
    private var timer: (any DispatchSourceTimer)?
    /// Tells whether the timer has stopped (outlives the worker, for tests).
    package let lifetime = FlusherLifetime()

    init(interval: Duration, label: String) {
        self.interval = interval
        self.queue = DispatchQueue(label: label)
    }

    /// Starts the timer; `pass` runs every interval on the worker's queue.
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

    /// Stops the timer and waits for a pass that is running to end.
    func stop() {
        timer?.cancel()
        queue.sync {}
    }

    deinit {
        timer?.cancel()
    }
}

extension Mutex where Value == BackgroundWorker? {
    /// Puts `worker` (or nothing) in this slot and stops the worker it
    /// replaces, waiting for a pass that is running. Whether there was one.
    @discardableResult
    func replace(with worker: BackgroundWorker?) -> Bool {
        let old = withLock { current -> BackgroundWorker? in
            let old = current
            current = worker
            return old
        }
        old?.stop()
        return old != nil
    }
}

/// The open files of a cache, for its background work (held weakly).
final class OpenFiles<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: `files` is read and written only under `lock`.
    // (A `ShortLock`, not `Synchronization.Mutex`, which ThreadSanitizer
    // cannot see on Linux: a background pass and a `statistics` call on
    // another thread were reported as racing on the list.)
    private let lock = ShortLock()
    private var files: [WeakMapping<Strategy>] = []

    /// Adds an open file.
    func register(_ mapping: Mapping<Strategy>) {
        lock.withLock { files.append(WeakMapping(mapping: mapping)) }
    }

    /// The files still open; forgets closed and released ones.
    func current() -> [Mapping<Strategy>] {
        lock.withLock {
            files.removeAll { $0.mapping.map { $0.isClosed.load(ordering: .acquiring) } ?? true }
            return files.compactMap(\.mapping)
        }
    }
}

/// Whether a background worker's timer has been cancelled (its cancel handler ran).
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
