import FolioLocks

/// How the cache serializes changes to page state. Every operation of the
/// engine that changes a page goes through one of these calls; the strategy
/// decides what they cost and whom they exclude.
///
/// There are three levels — the invalidate lock, the index level and the
/// folio level — and each strategy makes the index or the folio level real:
///
/// | level | per-page bit, hybrid fair | per-inode | per-range |
/// |---|---|---|---|
/// | `lockPages` (before the page-table lookup) | nothing | the file's rw lock | the range, over page indices |
/// | `lockFolio` (after the lookup) | the folio's lock bit | nothing | nothing |
/// | `lockInvalidate` (truncate vs. insert) | the file's invalidate rw lock | nothing (covered by `lockPages`) | nothing (covered) |
///
/// The engine calls all three levels in the same order on every path (lock
/// order: invalidate → pages → folio in ascending index → page table → parking
/// lot bucket), so one engine serves every strategy. Where `lockFolio` is the
/// real lock (`Self.locksFolios`), the folio may have been truncated, evicted,
/// split or moved while the thread slept on it, so the engine must recheck
/// after locking; where `lockPages` is the real lock, it was taken before the
/// lookup and no recheck is needed.
///
/// Eviction and collapse use only the `try` forms and never wait.
public protocol LockStrategy: Sendable {
    /// Per-file lock state the strategy keeps (one per open file).
    associatedtype MappingLock: Sendable
    /// What `lockPages` returns and `unlockPages` takes back.
    associatedtype PagesGuard: Sendable

    /// Which strategy this is (and, for the hybrid, which preset).
    var kind: LockStrategyKind { get }
    /// Whether folio locks are the real lock, so that a lookup must recheck a
    /// folio's identity after `lockFolio` returns.
    static var locksFolios: Bool { get }
    /// Slow-path counters: parks, handoffs, lost races, waits.
    var statistics: LockStatistics { get }

    /// Creates the per-file state for a newly opened file.
    func makeMappingLock() -> MappingLock

    // Folio level (after the lookup).
    func lockFolio(_ folio: Folio)
    func lockFolio(_ folio: Folio, timeout: Duration) -> Bool
    func tryLockFolio(_ folio: Folio) -> Bool
    func unlockFolio(_ folio: Folio)
    /// The hit path's fast form: pins `folio` and takes its lock in one
    /// atomic, only if it is live, unlocked and nobody waits for it. Never
    /// blocks; false changes nothing (the caller takes the ordinary path:
    /// pin, then `lockFolio`). Strategies whose folio lock is not real
    /// return false (the default).
    func tryPinAndLockFolio(_ folio: Folio) -> Bool
    /// Undoes `tryPinAndLockFolio` (or a pin followed by `lockFolio`): unlocks
    /// and unpins, in one atomic where the strategy can.
    func unlockAndUnpinFolio(_ folio: Folio)

    // Index level (before the lookup).
    func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) -> PagesGuard
    func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) -> PagesGuard?
    func unlockPages(_ guard: PagesGuard, in mapping: MappingLock)

    // The invalidate lock: shared to insert pages, exclusive to truncate.
    func lockInvalidate(_ mode: LockMode, in mapping: MappingLock)
    /// Collapse's form (it never waits).
    func tryLockInvalidate(_ mode: LockMode, in mapping: MappingLock) -> Bool
    func unlockInvalidate(_ mode: LockMode, in mapping: MappingLock)
}

/// The guard of a strategy whose `lockPages` takes nothing.
public struct NoPagesGuard: Sendable {
    @inlinable public init() {}
}

extension LockStrategy {
    @inlinable public func tryPinAndLockFolio(_ folio: Folio) -> Bool { false }
    @inlinable public func unlockAndUnpinFolio(_ folio: Folio) {
        unlockFolio(folio)
        folio.unpin()
    }
}
