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
/// order, docs/locking.md: invalidate → pages → folio in ascending index →
/// the short locks — page-table shards, pool, policy, … — which are leaves),
/// so one engine serves every strategy; the `DebugLocks` trait checks it. Where `lockFolio` is the
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

    // Every lock operation takes its caller's `LockSite`: an empty value
    // without the `DebugLocks` trait; with it, the `#fileID`/`#line` that the
    // convenience forms below capture, for the lock checker's reports. The
    // engine calls the convenience forms (`lockFolio(folio)`).

    // Folio level (after the lookup).

    /// Locks `folio`, waiting as long as it takes.
    ///
    /// Where ``locksFolios`` is true this is the real lock and the caller must
    /// recheck the folio's identity afterwards (it may have been truncated,
    /// evicted, split or moved while the thread slept); strategies that lock
    /// at the index level return at once.
    ///
    /// - Parameters:
    ///   - folio: The folio to lock.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    func lockFolio(_ folio: Folio, at site: LockSite)
    /// Locks `folio` like ``lockFolio(_:at:)``, but gives up after `timeout`.
    ///
    /// - Parameters:
    ///   - folio: The folio to lock.
    ///   - timeout: The longest the call waits for the lock.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    /// - Returns: Whether the lock was taken (always true where the folio lock is not real).
    func lockFolio(_ folio: Folio, timeout: Duration, at site: LockSite) -> Bool
    /// Locks `folio` only if that needs no wait; never blocks.
    ///
    /// - Parameters:
    ///   - folio: The folio to lock.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    /// - Returns: Whether the lock was taken (always true where the folio lock is not real).
    func tryLockFolio(_ folio: Folio, at site: LockSite) -> Bool
    /// Releases a folio lock taken by ``lockFolio(_:at:)``, a timed lock that
    /// succeeded or a successful ``tryLockFolio(_:at:)``, waking a waiter if
    /// there is one.
    ///
    /// - Parameters:
    ///   - folio: The locked folio.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    func unlockFolio(_ folio: Folio, at site: LockSite)
    /// The hit path's fast form: pins `folio` and takes its lock in one
    /// atomic, only if it is live, unlocked and nobody waits for it. Never
    /// blocks; false changes nothing (the caller takes the ordinary path:
    /// pin, then `lockFolio`). Strategies whose folio lock is not real
    /// return false (the default).
    func tryPinAndLockFolio(_ folio: Folio, at site: LockSite) -> Bool
    /// Undoes `tryPinAndLockFolio` (or a pin followed by `lockFolio`): unlocks
    /// and unpins, in one atomic where the strategy can.
    func unlockAndUnpinFolio(_ folio: Folio, at site: LockSite)

    // Index level (before the lookup).

    /// Locks the page indices `pages` of one file in `mode`, before the
    /// page-table lookup, waiting as long as it takes.
    ///
    /// The per-inode strategy takes the file's reader-writer lock (whatever
    /// the range), the per-range strategy the range itself; the bit-lock
    /// strategies take nothing.
    ///
    /// - Parameters:
    ///   - pages: The page indices the caller is about to look up or change.
    ///   - mode: Shared to read cached pages, exclusive to change page state.
    ///   - mapping: The file's lock state, from ``makeMappingLock()``.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    /// - Returns: The guard to hand back to ``unlockPages(_:in:at:)``.
    func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock, at site: LockSite) -> PagesGuard
    /// Locks `pages` like ``lockPages(_:_:in:at:)`` only if that needs no
    /// wait; never blocks (eviction's and collapse's form).
    ///
    /// - Parameters:
    ///   - pages: The page indices the caller is about to change.
    ///   - mode: Shared or exclusive.
    ///   - mapping: The file's lock state, from ``makeMappingLock()``.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    /// - Returns: The guard to hand back to ``unlockPages(_:in:at:)``, or nil
    ///   if the lock is not free.
    func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock, at site: LockSite) -> PagesGuard?
    /// Releases what ``lockPages(_:_:in:at:)`` or ``tryLockPages(_:_:in:at:)``
    /// took.
    ///
    /// - Parameters:
    ///   - guard: The guard the lock call returned.
    ///   - mapping: The file's lock state the guard was taken in.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    func unlockPages(_ guard: PagesGuard, in mapping: MappingLock, at site: LockSite)

    // The invalidate lock: shared to insert pages, exclusive to truncate.

    /// Takes the file's invalidate lock in `mode` (shared to insert pages,
    /// exclusive to truncate), waiting as long as it takes.
    ///
    /// A no-op in the strategies whose ``lockPages(_:_:in:at:)`` already
    /// covers it (per-inode, per-range).
    ///
    /// - Parameters:
    ///   - mode: Shared to insert pages, exclusive to truncate.
    ///   - mapping: The file's lock state, from ``makeMappingLock()``.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    func lockInvalidate(_ mode: LockMode, in mapping: MappingLock, at site: LockSite)
    /// Takes the file's invalidate lock only if that needs no wait: collapse's
    /// form (it never waits).
    ///
    /// - Parameters:
    ///   - mode: Shared to insert pages, exclusive to truncate.
    ///   - mapping: The file's lock state, from ``makeMappingLock()``.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    /// - Returns: Whether the lock was taken (always true where it is a no-op).
    func tryLockInvalidate(_ mode: LockMode, in mapping: MappingLock, at site: LockSite) -> Bool
    /// Releases the invalidate lock taken in `mode`.
    ///
    /// - Parameters:
    ///   - mode: The mode it was taken in.
    ///   - mapping: The file's lock state.
    ///   - site: The caller's location for the `DebugLocks` checker (empty without it).
    func unlockInvalidate(_ mode: LockMode, in mapping: MappingLock, at site: LockSite)

    // Suspending waits: the async API's (docs/async.md). A hold taken by one
    // of these is released before the task next suspends.

    /// Whether ``lockFolioAsync(_:)`` and ``lockPagesAsync(_:_:in:)``
    /// suspend the calling task while they wait (every built-in strategy).
    /// Where false (the default), the async API never calls them: it runs
    /// those waits on the I/O executor instead. A strategy that says true
    /// must implement both (the defaults only try the lock, and a busy lock
    /// would read as a cancellation).
    static var waitsSuspend: Bool { get }
    /// Locks `folio` like ``lockFolio(_:at:)``, suspending the calling task
    /// (not blocking its thread) while the lock is held: the waiter is parked
    /// in the parking lot as a task, under the strategy's fairness rules.
    /// The caller rechecks afterwards, as after ``lockFolio(_:at:)``.
    ///
    /// - Parameter folio: The folio to lock; it must be pinned.
    /// - Returns: Whether the lock was taken: false, holding nothing, only if
    ///   the task was cancelled while it waited.
    func lockFolioAsync(_ folio: Folio) async -> Bool
    /// Locks `pages` like ``lockPages(_:_:in:at:)``, suspending the calling
    /// task while it waits (per-inode: the file's rw lock; per-range: the
    /// range, in arrival order among overlapping ranges, tasks and threads
    /// alike).
    ///
    /// - Parameters:
    ///   - pages: The page indices the caller is about to look up or change.
    ///   - mode: Shared to read cached pages, exclusive to change page state.
    ///   - mapping: The file's lock state, from ``makeMappingLock()``.
    /// - Returns: The guard to hand back to ``unlockPages(_:in:at:)``, or nil,
    ///   holding nothing, if the task was cancelled while it waited.
    func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) async -> PagesGuard?
}

/// The guard of a strategy whose `lockPages` takes nothing.
public struct NoPagesGuard: Sendable {
    /// Creates the (empty) guard.
    @inlinable public init() {}
}

extension LockStrategy {
    /// False: by default the async API runs a strategy's lock waits on the
    /// I/O executor.
    @inlinable public static var waitsSuspend: Bool { false }
    /// The default, for a strategy whose waits do not suspend (never called
    /// by the async API then): ``tryLockFolio(_:at:)``.
    @inlinable public func lockFolioAsync(_ folio: Folio) async -> Bool { tryLockFolio(folio, at: LockSite()) }
    /// The default, for a strategy whose waits do not suspend (never called
    /// by the async API then): ``tryLockPages(_:_:in:at:)``.
    @inlinable public func lockPagesAsync(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) async -> PagesGuard? {
        tryLockPages(pages, mode, in: mapping, at: LockSite())
    }

    /// Returns false: by default a strategy has no combined pin-and-lock, and
    /// the caller takes the ordinary path (pin, then `lockFolio`).
    @inlinable public func tryPinAndLockFolio(_ folio: Folio, at site: LockSite) -> Bool { false }
    /// Unlocks `folio` with ``unlockFolio(_:at:)``, then unpins it (two steps).
    @inlinable public func unlockAndUnpinFolio(_ folio: Folio, at site: LockSite) {
        unlockFolio(folio, at: site)
        folio.unpin()
    }

    /// Locks a folio nobody else can see yet — just taken from the pool, not
    /// in any page table (a fill's, a split's pieces, a collapse's result) —
    /// the kernel's `__folio_set_locked`. It never waits, so to the lock
    /// checker it is a trylock: no order against the locks held (a
    /// collapse holds the old folios, whose first has the same index).
    @inlinable public func lockUnpublishedFolio(_ folio: Folio, at site: LockSite) {
        let locked = tryLockFolio(folio, at: site)
        precondition(locked, "lockUnpublishedFolio: the folio is locked by someone else — it was published")
    }
}

#if DebugLocks
/// The engine's forms: the call site is captured for the lock checker.
extension LockStrategy {
    /// Calls ``lockFolio(_:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func lockFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) {
        lockFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls ``lockFolio(_:timeout:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func lockFolio(_ folio: Folio, timeout: Duration, file: StaticString = #fileID, line: UInt = #line) -> Bool {
        lockFolio(folio, timeout: timeout, at: LockSite(file: file, line: line))
    }
    /// Calls ``tryLockFolio(_:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func tryLockFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) -> Bool {
        tryLockFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls ``unlockFolio(_:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func unlockFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) {
        unlockFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls `tryPinAndLockFolio(_:at:)` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func tryPinAndLockFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) -> Bool {
        tryPinAndLockFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls `unlockAndUnpinFolio(_:at:)` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func unlockAndUnpinFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) {
        unlockAndUnpinFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls `lockUnpublishedFolio(_:at:)` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func lockUnpublishedFolio(_ folio: Folio, file: StaticString = #fileID, line: UInt = #line) {
        lockUnpublishedFolio(folio, at: LockSite(file: file, line: line))
    }
    /// Calls ``lockPages(_:_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) -> PagesGuard {
        lockPages(pages, mode, in: mapping, at: LockSite(file: file, line: line))
    }
    /// Calls ``tryLockPages(_:_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) -> PagesGuard? {
        tryLockPages(pages, mode, in: mapping, at: LockSite(file: file, line: line))
    }
    /// Calls ``unlockPages(_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func unlockPages(_ guard: PagesGuard, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) {
        unlockPages(`guard`, in: mapping, at: LockSite(file: file, line: line))
    }
    /// Calls ``lockInvalidate(_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func lockInvalidate(_ mode: LockMode, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) {
        lockInvalidate(mode, in: mapping, at: LockSite(file: file, line: line))
    }
    /// Calls ``tryLockInvalidate(_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func tryLockInvalidate(_ mode: LockMode, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) -> Bool {
        tryLockInvalidate(mode, in: mapping, at: LockSite(file: file, line: line))
    }
    /// Calls ``unlockInvalidate(_:in:at:)`` with the caller's `#fileID` and `#line` as the lock site.
    @inlinable public func unlockInvalidate(_ mode: LockMode, in mapping: MappingLock, file: StaticString = #fileID, line: UInt = #line) {
        unlockInvalidate(mode, in: mapping, at: LockSite(file: file, line: line))
    }
}
#else
/// The engine's forms (an empty site: nothing is captured or passed).
extension LockStrategy {
    /// Calls ``lockFolio(_:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func lockFolio(_ folio: Folio) { lockFolio(folio, at: LockSite()) }
    /// Calls ``lockFolio(_:timeout:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func lockFolio(_ folio: Folio, timeout: Duration) -> Bool { lockFolio(folio, timeout: timeout, at: LockSite()) }
    /// Calls ``tryLockFolio(_:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func tryLockFolio(_ folio: Folio) -> Bool { tryLockFolio(folio, at: LockSite()) }
    /// Calls ``unlockFolio(_:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func unlockFolio(_ folio: Folio) { unlockFolio(folio, at: LockSite()) }
    /// Calls `tryPinAndLockFolio(_:at:)` with an empty lock site.
    @inlinable @inline(__always) public func tryPinAndLockFolio(_ folio: Folio) -> Bool { tryPinAndLockFolio(folio, at: LockSite()) }
    /// Calls `unlockAndUnpinFolio(_:at:)` with an empty lock site.
    @inlinable @inline(__always) public func unlockAndUnpinFolio(_ folio: Folio) { unlockAndUnpinFolio(folio, at: LockSite()) }
    /// Calls `lockUnpublishedFolio(_:at:)` with an empty lock site.
    @inlinable @inline(__always) public func lockUnpublishedFolio(_ folio: Folio) { lockUnpublishedFolio(folio, at: LockSite()) }
    /// Calls ``lockPages(_:_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func lockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) -> PagesGuard {
        lockPages(pages, mode, in: mapping, at: LockSite())
    }
    /// Calls ``tryLockPages(_:_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func tryLockPages(_ pages: Range<PageIndex>, _ mode: LockMode, in mapping: MappingLock) -> PagesGuard? {
        tryLockPages(pages, mode, in: mapping, at: LockSite())
    }
    /// Calls ``unlockPages(_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func unlockPages(_ guard: PagesGuard, in mapping: MappingLock) { unlockPages(`guard`, in: mapping, at: LockSite()) }
    /// Calls ``lockInvalidate(_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func lockInvalidate(_ mode: LockMode, in mapping: MappingLock) { lockInvalidate(mode, in: mapping, at: LockSite()) }
    /// Calls ``tryLockInvalidate(_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func tryLockInvalidate(_ mode: LockMode, in mapping: MappingLock) -> Bool {
        tryLockInvalidate(mode, in: mapping, at: LockSite())
    }
    /// Calls ``unlockInvalidate(_:in:at:)`` with an empty lock site.
    @inlinable @inline(__always) public func unlockInvalidate(_ mode: LockMode, in mapping: MappingLock) { unlockInvalidate(mode, in: mapping, at: LockSite()) }
}
#endif
