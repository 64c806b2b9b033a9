import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` on `count` fresh OS threads (more threads than cores is the
/// point: contention tests on 2 cores must oversubscribe) and returns when all
/// are done. The threads start together behind a `StartGate`.
public func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let gate = StartGate(parties: count)
    let done = DispatchGroup()
    for i in 0..<count {
        done.enter()
        let t = Thread {
            gate.arriveAndWait()
            body(i)
            done.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    done.wait()
}

/// Starts `body` on a new thread and returns at once.
public func spawnThread(_ body: @escaping @Sendable () -> Void) {
    let t = Thread { body() }
    t.start()
}

/// Runs `body` on another thread and waits at most `seconds` for it. Returns
/// false if it did not finish: a deadlock or a lost wake-up in the code under
/// test. (The stuck thread is abandoned; the test fails instead of hanging.)
public func finishes(within seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let sem = DispatchSemaphore(value: 0)
    spawnThread {
        body()
        sem.signal()
    }
    return sem.wait(timeout: .now() + seconds) == .success
}

/// A barrier: `arriveAndWait` returns once `parties` threads have arrived.
public final class StartGate: Sendable {
    let parties: Int
    let arrived = Atomic<Int>(0)

    public init(parties: Int) { self.parties = parties }

    public func arriveAndWait() {
        arrived.wrappingAdd(1, ordering: .acquiringAndReleasing)
        while arrived.load(ordering: .acquiring) < parties { sched_yield() }
    }
}

/// Polls `condition` (yielding) until it holds or `seconds` pass.
@discardableResult
public func waitUntil(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(100)
    }
    return true
}

/// `waitUntil` for async tests: polls with `Task.sleep`, so that the tasks
/// it waits for get the cooperative pool's threads (a blocking poll holds one).
public func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(1))
    }
    return condition()
}

/// A deliberately unsynchronized counter: only the lock under test protects
/// it. A broken lock loses increments (and ThreadSanitizer reports the race).
public final class UnprotectedCounter: @unchecked Sendable {
    // @unchecked Sendable: intentionally not thread-safe; every test that
    // shares one serializes access with the lock it is testing.
    public var value = 0
    public init() {}
}

/// A thread-safe log of events (for ordering assertions). Guarded by a pthread
/// mutex rather than `Synchronization.Mutex`, which ThreadSanitizer cannot see
/// on Linux (false race reports).
public final class EventLog<Element: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `items` is only touched with `lock` held.
    let lock = TestLock()
    var items: [Element] = []

    public init() {}
    public func append(_ e: Element) { lock.withLock { items.append(e) } }
    public var events: [Element] { lock.withLock { items } }
}

/// Scales iteration counts: FOLIO_STRESS_SCALE=10 runs ten times as many.
public func stressIterations(_ base: Int) -> Int {
    let scale = ProcessInfo.processInfo.environment["FOLIO_STRESS_SCALE"].flatMap(Double.init) ?? 1
    return max(1, Int(Double(base) * scale))
}

/// A pthread mutex for test bookkeeping (visible to ThreadSanitizer).
public final class TestLock: @unchecked Sendable {
    // @unchecked Sendable: a pthread mutex at a stable address.
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// Takes a lock on a thread of its own and holds it until `unlock()`, which
/// releases it on that same thread and returns once it is released. (An
/// async test cannot hold a lock itself: a task may resume on another thread
/// than the one it took the lock on, and the DebugLocks checker reports that
/// unlock as a non-owner's.)
public final class LockHolderThread: Sendable {
    private let release = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    public init(lock: @escaping @Sendable () -> Void, unlock: @escaping @Sendable () -> Void) {
        let locked = DispatchSemaphore(value: 0)
        let release = self.release, released = self.released
        spawnThread {
            lock()
            locked.signal()
            release.wait()
            unlock()
            released.signal()
        }
        locked.wait()
    }

    public func unlock() {
        release.signal()
        released.wait()
    }
}

/// A value a test's threads hand each other in order (set by one closure,
/// read by a later one).
public final class Box<T>: @unchecked Sendable {
    // @unchecked Sendable: written and read in an order the test imposes
    // (LockHolderThread's lock closure before its unlock closure, one thread).
    public var value: T
    public init(_ value: T) { self.value = value }
}
