import CFolioShims
import Synchronization

/// How a `parkAsync` call ended.
public enum AsyncParkResult: Sendable, Equatable {
    /// An unparker took the task out of the queue and passed it this token
    /// (exactly what a parked thread would have been passed).
    case unparked(UnparkToken)
    /// `validate` returned false under the bucket lock; the task never waited.
    case invalid
    /// The task was cancelled while queued (or before): it has been taken out
    /// of the queue and nobody handed it anything. The caller must call
    /// `afterCancellation(key:_:)` to fix up its lock word.
    case cancelled
}

/// A parked task's node, for the cancellation handler (which may run on any
/// thread, at any time while the park is in progress).
struct AsyncWaiterRef: @unchecked Sendable {
    // @unchecked Sendable: the node's fields are read and written only under
    // its bucket lock; the pointer stays valid until `parkAsync` returns,
    // which is after `withTaskCancellationHandler` has returned — and that
    // waits for a running cancellation handler.
    let node: UnsafeMutablePointer<WaiterNode>
}

/// Tasks resumed by an unpark — many of them handed a lock — that have not
/// run since: process-wide, for every parking lot.
///
/// A lock handed to a parked task is held by a task that is not running: it
/// runs when its executor gets to it, and on the cooperative pool (one thread
/// per core) tasks that never suspend — readers whose every read hits — can
/// keep every pool thread busy for as long as they like. Then the holder
/// never runs, and everyone waiting for its lock waits for ever (seen: three
/// reader tasks on a 2-thread pool, one handed a folio lock while two hit
/// other pages in a loop, a writer thread parked on the lock, a truncate
/// behind the writer). The async API's hit paths check this count and yield
/// their thread while it is not zero (`AsyncCachedFile`): the analogue of Go's
/// unlocker yielding to the waiter it handed the lock to.
public enum ResumedTasks {
    @usableFromInline static let pendingCount = Atomic<Int>(0)

    /// Whether a task resumed by an unpark has not run yet (a relaxed load
    /// of a word written once per such resume).
    @inlinable public static var anyPending: Bool { pendingCount.load(ordering: .relaxed) != 0 }

    /// Counts a resume about to happen (the unparker, before `resume`).
    @inlinable static func willResume(_ n: Int = 1) { pendingCount.wrappingAdd(n, ordering: .relaxed) }

    /// Counts a resumed task that runs (the task, after its continuation).
    @inlinable static func didRun() { pendingCount.wrappingSubtract(1, ordering: .relaxed) }
}

extension ParkingLot {
    /// Parks the calling **task** on `key` if `validate()` holds: the async
    /// twin of `park` (the kernel's `__folio_lock_async` parks a callback the
    /// same way). The task waits in the same FIFO queue as parked threads,
    /// under the same rules — unparkers see its token, pick its unpark token
    /// under the bucket lock, and a handoff to it is a handoff — but no thread
    /// sleeps: the unparker resumes the task's continuation, which puts the
    /// task back on its executor.
    ///
    /// Cancellation: a task cancelled while queued is taken out of the queue
    /// under the bucket lock and returns `.cancelled` (so is one cancelled
    /// before it queued). An unparker that got to it first wins: the task
    /// returns `.unparked` with whatever it was handed (a handoff included),
    /// cancelled or not. After `.cancelled` the caller must run
    /// `afterCancellation` — the analogue of `park`'s `timedOut`.
    ///
    /// No spinning, no timeout (cancel the task instead).
    public func parkAsync(
        key: UInt,
        token: ParkToken = ParkToken(),
        atFront: Bool = false,
        validate: () -> Bool
    ) async -> AsyncParkResult {
        let node = UnsafeMutablePointer<WaiterNode>.allocate(capacity: 1)
        node.initialize(to: WaiterNode(key: key, parkToken: token))
        defer {
            node.deinitialize(count: 1)
            node.deallocate()
        }
        let ref = AsyncWaiterRef(node: node)
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (task: UnsafeContinuation<AsyncParkResult, Never>) in
                let b = bucket(for: key)
                let m = mutex(b)
                m.lock()
                if node.pointee.asyncPhase == WaiterNode.asyncCancelledEarly {
                    m.unlock()
                    task.resume(returning: .cancelled)
                    return
                }
                guard validate() else {
                    node.pointee.asyncPhase = WaiterNode.asyncDone
                    m.unlock()
                    task.resume(returning: .invalid)
                    return
                }
                node.pointee.continuation = task
                node.pointee.asyncPhase = WaiterNode.asyncQueued
                enqueue(node, in: b, atFront: atFront)
                m.unlock()
            }
        } onCancel: {
            self.cancelAsyncWaiter(ref)
        }
        if case .unparked = result { ResumedTasks.didRun() }
        return result
    }

    /// After `parkAsync` returned `.cancelled`: runs `body` under the bucket
    /// lock with whether any thread or task is still parked on `key` (a lock
    /// clears its "parked" bit when nobody is). The waiter was removed
    /// earlier, by its cancellation handler; until this runs, the bit may be
    /// set with nobody queued — a state every lock of this lot tolerates
    /// (an unlock then finds the queue empty and clears it).
    public func afterCancellation(key: UInt, _ body: (_ nobodyLeft: Bool) -> Void) {
        let b = bucket(for: key)
        let m = mutex(b)
        m.lock()
        body(!hasThreads(key: key, in: b))
        m.unlock()
    }

    /// The cancellation handler: takes a queued task out (and resumes it with
    /// `.cancelled`), or marks one that has not queued yet so that it never
    /// does. One that was unparked already is left alone.
    func cancelAsyncWaiter(_ ref: AsyncWaiterRef) {
        let node = ref.node
        let b = bucket(for: node.pointee.key)
        let m = mutex(b)
        m.lock()
        switch node.pointee.asyncPhase {
        case WaiterNode.asyncNotQueued:
            node.pointee.asyncPhase = WaiterNode.asyncCancelledEarly
            m.unlock()
        case WaiterNode.asyncQueued:
            remove(node, from: b)
            let task = takeContinuation(node)
            folio_atomic_store_release(node.stateWord, WaiterNode.unparked)
            m.unlock()
            task?.resume(returning: .cancelled)
        default:
            m.unlock()
        }
    }

    /// A selected node's continuation, if it is a parked task (bucket lock
    /// held): the caller resumes it after releasing the lock.
    func takeContinuation(_ node: UnsafeMutablePointer<WaiterNode>) -> UnsafeContinuation<AsyncParkResult, Never>? {
        guard let task = node.pointee.continuation else { return nil }
        node.pointee.continuation = nil
        node.pointee.asyncPhase = WaiterNode.asyncDone
        return task
    }
}
