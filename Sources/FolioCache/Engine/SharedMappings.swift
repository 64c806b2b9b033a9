import FolioLocks
#if canImport(Glibc)
import Glibc
#endif

/// The files of a cache open under a known identity (device and inode), so
/// that a second `open` of a file that is already open joins its mapping
/// instead of making an independent one — two mappings of one file would
/// each cache its own copy and lose one handle's writes to the other's
/// writeback. Each handle counts; the last `close()` closes the mapping.
///
/// A mapping whose last close is in progress (writing back, closing the
/// backend) cannot be joined: an `open` then waits for the close to end
/// (and opens a fresh mapping of the now written-back file), or joins again
/// if the close failed and left it open.
final class SharedMappings<Strategy: LockStrategy>: Sendable {
    struct Entry {
        weak var mapping: Mapping<Strategy>?
        /// Open handles of the mapping.
        var handles: Int
        /// The last handle is closing the mapping.
        var closing: Bool
        /// The mapping's backend can write (it was made by a read-write
        /// open): only then may a read-write open join it.
        var writable: Bool
    }

    private let entries = Guarded<[FileIdentity: Entry]>([:], lockClass: .openFiles)

    enum JoinResult {
        /// A new handle of this open mapping (the caller's backend is not needed).
        case joined(Mapping<Strategy>)
        /// `make()`'s mapping, now registered with one handle.
        case created(Mapping<Strategy>)
        /// Nothing changed: a read-write open found the file mapped through
        /// a read-only descriptor, which cannot write its pages back.
        case readOnlyMapping
    }

    /// The open mapping of `identity` with one more handle, or a new one
    /// made by `make` (called with the registry locked: keep it cheap).
    /// `writable`: the caller's handle and backend are read-write.
    func join(_ identity: FileIdentity, writable: Bool, orMake make: () -> Mapping<Strategy>) -> JoinResult {
        while true {
            let result: JoinResult? = entries.withLock { table in
                if let entry = table[identity], let mapping = entry.mapping, !mapping.isClosed.load(ordering: .acquiring) {
                    if entry.closing { return nil }  // wait for that close
                    if writable && !entry.writable { return .readOnlyMapping }
                    // (0 handles: an abandoned mapping, rejoined.)
                    table[identity]?.handles += 1
                    return .joined(mapping)
                }
                let mapping = make()
                table[identity] = Entry(mapping: mapping, handles: 1, closing: false, writable: writable)
                return .created(mapping)
            }
            if let result { return result }
            usleep(100)  // a close of this file is in progress: rare, and short
        }
    }

    enum CloseTurn {
        /// Other handles remain: this one only lets go.
        case notLast
        /// The last handle: close the mapping, then `finishClose`.
        case last
    }

    /// Whether closing one handle of `mapping` (of `identity`) closes the
    /// mapping; for the last, marks it closing (no joins until `finishClose`).
    func beginClose(_ mapping: Mapping<Strategy>, _ identity: FileIdentity?) -> CloseTurn {
        guard let identity else { return .last }
        return entries.withLock { table in
            guard let entry = table[identity], entry.mapping === mapping else { return .last }
            if entry.handles > 1 { return .notLast }
            table[identity]?.closing = true
            return .last
        }
    }

    /// Lets go of one of several handles; false if it became the last
    /// meanwhile (the caller then closes the mapping).
    func release(_ mapping: Mapping<Strategy>, _ identity: FileIdentity?) -> Bool {
        guard let identity else { return false }
        return entries.withLock { table in
            guard let entry = table[identity], entry.mapping === mapping, entry.handles > 1 else { return false }
            table[identity]?.handles -= 1
            return true
        }
    }

    /// The last close ended: closed (the entry goes), or failed (the mapping
    /// stays open with its one handle, joinable again).
    func finishClose(_ mapping: Mapping<Strategy>, _ identity: FileIdentity?, closed: Bool) {
        guard let identity else { return }
        entries.withLock { table in
            guard let entry = table[identity], entry.mapping === mapping else { return }
            if closed { table[identity] = nil } else { table[identity]?.closing = false }
        }
    }

    /// A mapping whose last handle was dropped and whose close failed: no
    /// handle now, joinable (the next open of the file gets its dirty pages).
    func abandon(_ mapping: Mapping<Strategy>, _ identity: FileIdentity?) {
        guard let identity else { return }
        entries.withLock { table in
            guard let entry = table[identity], entry.mapping === mapping else { return }
            table[identity]?.handles = 0
            table[identity]?.closing = false
        }
    }

    /// Open handles of `identity`'s mapping (0 if none).
    func handles(_ identity: FileIdentity) -> Int {
        entries.withLock { table in
            guard let entry = table[identity], entry.mapping != nil else { return 0 }
            return entry.handles
        }
    }
}
