import CFolioShims

/// One parked thread or task: a queue entry in a bucket plus the futex word a
/// thread sleeps on (or the continuation a task waits on). A thread's lives
/// in its stack frame for the duration of one `park` call; a task's on the
/// heap for one `parkAsync`.
///
/// Every field but `state` is read and written only under the bucket lock.
/// `state` is written under the bucket lock by the unparker (release) and read
/// by the parked thread without it (acquire), which is what lets that thread
/// return as soon as it sees `unparked`.
@usableFromInline
struct WaiterNode {
    /// Futex word: `WaiterNode.parked` or `WaiterNode.unparked`.
    var state: UInt32
    var key: UInt
    var parkToken: ParkToken
    var unparkToken: UnparkToken
    var next: UnsafeMutablePointer<WaiterNode>?
    /// A parked *task* (`ParkingLot.parkAsync`): resumed by its unparker
    /// instead of a futex wake. Nil for a parked thread.
    var continuation: UnsafeContinuation<AsyncParkResult, Never>?
    /// A parked task's progress: `asyncNotQueued`, `asyncQueued` or
    /// `asyncDone` (unparked or cancelled). Bucket lock held.
    var asyncPhase: UInt8

    static let parked: UInt32 = 0
    static let unparked: UInt32 = 1

    init(key: UInt, parkToken: ParkToken) {
        self.state = WaiterNode.parked
        self.key = key
        self.parkToken = parkToken
        self.unparkToken = .retry
        self.next = nil
        self.continuation = nil
        self.asyncPhase = WaiterNode.asyncNotQueued
    }

    static let asyncNotQueued: UInt8 = 0
    static let asyncQueued: UInt8 = 1
    static let asyncDone: UInt8 = 2
    /// Cancelled before it was queued: the park must not queue it.
    static let asyncCancelledEarly: UInt8 = 3
}

extension UnsafeMutablePointer where Pointee == WaiterNode {
    /// The address of `state`, for futex calls and C atomics. `state` is the
    /// first stored property, so this is the node's own address.
    var stateWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(self).assumingMemoryBound(to: UInt32.self)
    }
}
