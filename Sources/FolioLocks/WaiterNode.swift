import CFolioShims

/// One parked thread: a queue entry in a bucket plus the futex word the thread
/// sleeps on. It lives in the parked thread's stack frame for the duration of
/// one `park` call.
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

    static let parked: UInt32 = 0
    static let unparked: UInt32 = 1

    init(key: UInt, parkToken: ParkToken) {
        self.state = WaiterNode.parked
        self.key = key
        self.parkToken = parkToken
        self.unparkToken = .retry
        self.next = nil
    }
}

extension UnsafeMutablePointer where Pointee == WaiterNode {
    /// The address of `state`, for futex calls and C atomics. `state` is the
    /// first stored property, so this is the node's own address.
    var stateWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(self).assumingMemoryBound(to: UInt32.self)
    }
}
