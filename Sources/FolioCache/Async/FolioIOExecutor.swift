#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Folio's own small pool of threads for the async API's blocking work —
/// disk reads and writes, and the lock waits of the per-inode and per-range
/// strategies — so that the cooperative pool never blocks
/// (docs/async.md). A `TaskExecutor`: the async API runs a hop's whole
/// synchronous operation on it with `withTaskExecutorPreference`; any
/// other `TaskExecutor` can take its place (`PageCache.setIOExecutor`).
///
/// Jobs run in FIFO order on `threadCount` dedicated threads that sleep on a
/// condition variable when there is nothing to do (no spinning: a hop costs
/// one thread wake-up, docs/async.md). The threads live for the process
/// (`shared`) or until `shutdown()`.
public final class FolioIOExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `queue` and `stopping` are read and written only
    // with `mutex` held; the pthread objects are initialized once in `init`
    // and never moved (they live in heap allocations owned by this object).

    /// The process-wide pool the async API uses unless a cache is given
    /// another executor: two threads (the machines Folio is measured on have
    /// two cores; a hop's work is mostly waiting for the device).
    public static let shared = FolioIOExecutor(threadCount: 2)

    /// Number of threads.
    public let threadCount: Int

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [UnownedJob] = []
    private var head = 0
    private var stopping = false
    private var threads: [pthread_t] = []
    private let exited = Atomic<Int>(0)

    /// Starts `threadCount` threads (at least 1).
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for _ in 0..<self.threadCount {
            let box = Unmanaged.passRetained(WorkerStart(self))
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { arg in
                // The argument is the retained box passed below.
                guard let arg else { return nil }
                let start = Unmanaged<WorkerStart>.fromOpaque(arg).takeRetainedValue()
                start.executor.work()
                return nil
            }, box.toOpaque())
            if rc == 0 {
                pthread_detach(thread)
                threads.append(thread)
            } else {
                box.release()
            }
        }
        precondition(!threads.isEmpty, "FolioIOExecutor: could not start a thread")
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(mutex)
        queue.append(unowned)
        pthread_mutex_unlock(mutex)
        pthread_cond_signal(condition)
    }

    /// Stops the threads once the queued jobs have run. Jobs enqueued after
    /// this never run: do not stop an executor something still uses.
    public func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_mutex_unlock(mutex)
        pthread_cond_broadcast(condition)
    }

    private func work() {
        // The workers hold the executor strongly while they run.
        let me = asUnownedTaskExecutor()
        while true {
            pthread_mutex_lock(mutex)
            while head == queue.count && !stopping { pthread_cond_wait(condition, mutex) }
            if head == queue.count {
                pthread_mutex_unlock(mutex)
                exited.wrappingAdd(1, ordering: .relaxed)
                return
            }
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_mutex_unlock(mutex)
            job.runSynchronously(on: me)
        }
    }
}

/// What a new worker thread gets: its executor.
private final class WorkerStart {
    let executor: FolioIOExecutor
    init(_ executor: FolioIOExecutor) { self.executor = executor }
}
