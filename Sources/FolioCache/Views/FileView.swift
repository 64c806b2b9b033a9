import FolioLocks
import Synchronization

/// An mmap-style window onto a byte range of an open file: it behaves like a
/// `MAP_SHARED` mapping, in user space. Create one with `CachedFile.map`.
///
/// Offsets are relative to the start of the view. Accesses:
/// - `withUnsafeBytes(at:count:_:)` runs a closure on the bytes in place when
///   they lie inside one folio (zero-copy; the folio is **pinned**, not
///   locked, while the closure runs) and on a copy when they span folios.
/// - `copyBytes(at:count:)`, `copyBytes(at:into:)`, `load(at:as:)`: copies.
/// - `withUnsafeMutableBytes(at:count:_:)`, `store(_:at:)` (views mapped
///   `.readWrite`): write in place, with the page pinned **and locked** for
///   writing (as `CachedFile.write` holds it); the page becomes dirty, is
///   seen by `read` on the same file at once and is written back like any
///   dirty page. Do not touch the same file from inside the closure: its
///   page (per-inode: its whole file) is locked.
///
/// **The fault path.** A view maps pages lazily. Touching a page the view has
/// not mapped runs `CachedFile.fault`, the same way every time: look up;
/// insert and fill a locked folio if the page is absent; lock it through the
/// strategy; recheck that it is still this file's page at this index and below
/// EOF; pin; unlock. The view then remembers the folio (its "page-table
/// entry"), unpinned: later reads validate the entry with one pin (still live,
/// same file, same index, uptodate, below EOF) and use it without a lookup or a
/// lock; a stale entry — the page was evicted, truncated, replaced — just
/// faults again. So a view never holds pins between accesses: eviction, truncate
/// and close work under it, and `unmap()` leaves nothing pinned. Writes always
/// take the fault path, so that reclaim, which try-locks a page before it
/// checks its pins, always sees the writer's pin before the bytes change.
///
/// **EOF.** Touching bytes at or past the end of the file throws
/// `FolioError.beyondEndOfFile` (the `SIGBUS` analogue) and never returns stale
/// bytes; after the file grows again the same range works again. A write
/// through a view cannot extend the file (as with `mmap`).
///
/// **Concurrency.** A view may be used from any number of threads. As with a
/// real shared mapping, bytes read in place are not atomic against concurrent
/// writers or truncates of the *same bytes* (they hold the page lock; a view
/// holds only a pin): synchronize those yourself, or use `CachedFile.read`,
/// which copies under the page lock.
///
/// **Lifetime.** After `unmap()`, or after the file is closed, every access
/// throws (`.unmapped`, `.closed`); nothing crashes. A view keeps its file
/// object alive.
public final class FileView<Strategy: LockStrategy>: @unchecked Sendable {
    // @unchecked Sendable: the entry table is only read and written with
    // atomic loads and stores; the counters and `isUnmapped` are atomics;
    // everything else is immutable.

    /// The file the view maps (kept alive by the view).
    public let file: CachedFile<Strategy>
    /// The bytes of the file this view covers.
    public let range: Range<Int64>
    /// Whether the view may change the file (`map`'s mode).
    public let mode: ViewMode
    /// Pages mapped around a fault (already cached ones only, trylocked).
    public let faultAround: Int

    @usableFromInline let firstPage: UInt64
    /// The view's page-table entries: folio addresses (0: none), unpinned
    /// hints, direct-mapped by page index (a bounded table, like a TLB; a
    /// view of any size costs at most `maxEntries` words).
    @usableFromInline let entries: UnsafeMutablePointer<UInt64>
    @usableFromInline let entryMask: Int
    @usableFromInline static var maxEntries: Int { 1024 }

    @usableFromInline let isUnmapped = Atomic<Bool>(false)
    @usableFromInline let faults = Atomic<UInt64>(0)
    @usableFromInline let fills = Atomic<UInt64>(0)
    @usableFromInline let mappedHits = Atomic<UInt64>(0)
    @usableFromInline let aroundMapped = Atomic<UInt64>(0)

    init(file: CachedFile<Strategy>, range: Range<Int64>, mode: ViewMode, faultAround: Int) {
        self.file = file
        self.range = range
        self.mode = mode
        self.faultAround = faultAround
        let shift = UInt64(file.mapping.pageShift)
        firstPage = UInt64(range.lowerBound) >> shift
        let pages = range.isEmpty ? 1 : Int(((UInt64(range.upperBound) - 1) >> shift) - firstPage + 1)
        let n = min(FileView.maxEntries, 1 << (Int.bitWidth - (pages - 1).leadingZeroBitCount))
        entryMask = max(n, 1) - 1
        entries = UnsafeMutablePointer<UInt64>.allocate(capacity: entryMask + 1)
        entries.initialize(repeating: 0, count: entryMask + 1)
    }

    deinit { entries.deallocate() }

    /// Bytes in the view.
    public var count: Int { Int(range.upperBound - range.lowerBound) }

    /// The view's fault, fill and mapped-hit counters (a snapshot of relaxed loads).
    public var statistics: ViewStatistics {
        var s = ViewStatistics()
        s.faults = faults.load(ordering: .relaxed)
        s.fills = fills.load(ordering: .relaxed)
        s.mappedHits = mappedHits.load(ordering: .relaxed)
        s.faultAroundMapped = aroundMapped.load(ordering: .relaxed)
        return s
    }

    /// Drops every mapping of the view; later accesses throw
    /// `FolioError.unmapped`. The view holds no pins between accesses, so
    /// nothing stays pinned once accesses running on other threads return.
    public func unmap() {
        isUnmapped.store(true, ordering: .releasing)
        for i in 0...entryMask { RawAtomic64.storeRelaxed(entries + i, 0) }
    }

    // MARK: The machinery

    /// Validates an access (`count` bytes at view offset `offset`, both
    /// non-negative and inside the view); returns its file offset.
    @inlinable
    func checkAccess(_ operation: String, offset: Int64, count: Int, write: Bool) throws(FolioError) -> Int64 {
        if isUnmapped.load(ordering: .acquiring) { throw .unmapped(path: file.path) }
        if write && mode == .readOnly { throw .readOnlyView(path: file.path) }
        let length = Int64(self.count)
        guard offset >= 0, count >= 0, offset <= length, Int64(count) <= length - offset else {
            throw .invalidArgument("\(operation) through a view of '\(file.path)': \(count) bytes at offset \(offset) do not lie inside the view (\(self.count) bytes)")
        }
        try file.checkOpen()
        return range.lowerBound + offset
    }

    /// Throws unless `[start, start + count)` lies below EOF.
    @inlinable
    func checkEOF(_ start: Int64, _ count: Int) throws(FolioError) {
        let size = file.mapping.size.load(ordering: .acquiring)
        if start + Int64(count) > size {
            throw .beyondEndOfFile(path: file.path, offset: max(start, size), size: size)
        }
    }

    /// For reads: the folio of page `index`, pinned — from the view's entry
    /// if it is still valid, else through the fault path. (Writes go through
    /// `withPageLockedForWrite`.)
    @inlinable
    func pin(_ index: PageIndex) throws(FolioError) -> Unmanaged<Folio> {
        let slot = entries + (Int(truncatingIfNeeded: index.rawValue &- firstPage) & entryMask)
        if let folio = validEntry(RawAtomic64.loadRelaxed(slot), index) {
            mappedHits.wrappingAdd(1, ordering: .relaxed)
            // A use of the page like any other (the kernel's accessed bit,
            // but told to the policy at once: for SIEVE and S3-FIFO it is a
            // load of the folio's word, and a write only while it is cold).
            folio._withUnsafeGuaranteedRef { file.cache.recordAccess($0) }
            return folio
        }
        let (folio, filled) = try file.fault(index)
        faults.wrappingAdd(1, ordering: .relaxed)
        if filled { fills.wrappingAdd(1, ordering: .relaxed) }
        RawAtomic64.storeRelaxed(slot, UInt64(UInt(bitPattern: folio.toOpaque())))
        // A large folio maps all of its pages the view covers at once (the
        // kernel maps a whole large folio on one fault the same way).
        folio._withUnsafeGuaranteedRef { f in if f.order > 0 { mapFolio(f, except: index) } }
        if faultAround > 0 { mapAround(index) }
        return folio
    }

    /// Points the entries of every page of `folio` inside the view (other
    /// than `index`, already done) at it.
    @usableFromInline
    func mapFolio(_ folio: Folio, except index: PageIndex) {
        let lastPage = (UInt64(max(range.upperBound, range.lowerBound + 1)) - 1) >> UInt64(file.mapping.pageShift)
        let from = max(folio.index.rawValue, firstPage)
        let to = min(folio.endIndex.rawValue - 1, lastPage)
        guard from <= to else { return }
        let word = UInt64(UInt(bitPattern: Unmanaged.passUnretained(folio).toOpaque()))
        for i in from...to where i != index.rawValue {
            RawAtomic64.storeRelaxed(entries + (Int(truncatingIfNeeded: i &- firstPage) & entryMask), word)
        }
    }

    /// Pins the folio an entry names if it is still the page at `index` of
    /// this file: live (published, not detached, not free — `tryPin`), at
    /// this index, of this mapping, uptodate. Folios are type-stable, so a
    /// stale entry is never dangling; the checks after the pin are stable
    /// because a pinned folio does not change identity.
    @inlinable
    func validEntry(_ entry: UInt64, _ index: PageIndex) -> Unmanaged<Folio>? {
        guard entry != 0, let p = UnsafeRawPointer(bitPattern: UInt(entry)) else { return nil }
        let u = Unmanaged<Folio>.fromOpaque(p)
        let ok = u._withUnsafeGuaranteedRef { f -> Bool in
            guard f.tryPinMapped() else { return false }
            // Acquire: pairs with the release that set `uptodate` after the
            // fill wrote the bytes.
            let state = f.state.load(ordering: .acquiring)
            if f.contains(index) && state & FolioFlags.uptodate.rawValue != 0 && f.mapping === file.mapping {
                return true
            }
            f.unpinMapped()
            return false
        }
        return ok ? u : nil
    }

    /// Fault-around: maps the following pages of the view that are already
    /// cached, with trylock only, skipping busy ones and stopping at the end
    /// of the view.
    @usableFromInline
    func mapAround(_ index: PageIndex) {
        let lastPage = (UInt64(max(range.upperBound, range.lowerBound + 1)) - 1) >> UInt64(file.mapping.pageShift)
        var i = index.rawValue &+ 1
        var mapped: UInt64 = 0
        while i <= lastPage && i <= index.rawValue &+ UInt64(faultAround) {
            let page = PageIndex(i)
            let slot = entries + (Int(truncatingIfNeeded: i &- firstPage) & entryMask)
            if let folio = file.faultAroundCandidate(page) {
                RawAtomic64.storeRelaxed(slot, UInt64(UInt(bitPattern: folio.toOpaque())))
                mapped += 1
            }
            i += 1
        }
        if mapped > 0 { aroundMapped.wrappingAdd(mapped, ordering: .relaxed) }
    }

    /// Calls `body(pos, inPage, done, n)` for each page piece of the `count`
    /// bytes at file offset `start`: the piece's file offset, its offset in
    /// its page, its offset from `start`, its length.
    @inlinable
    func forEachPagePiece(from start: Int64, count: Int, _ body: (Int64, Int, Int, Int) throws(FolioError) -> Void) throws(FolioError) {
        var done = 0
        while done < count {
            let pos = start + Int64(done)
            let inPage = Int(pos & Int64(file.pageSize - 1))
            let n = min(count - done, file.pageSize - inPage)
            try body(pos, inPage, done, n)
            done += n
        }
    }

    /// Copies file bytes from `start` into `buffer`, folio by folio, each
    /// folio pinned while its part is copied.
    @usableFromInline
    func copyPages(from start: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(FolioError) {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let pos = start + Int64(done)
            let index = file.pageIndex(of: pos)
            let inPage = Int(pos & Int64(file.pageSize - 1))
            let folio = try pin(index)
            defer { folio._withUnsafeGuaranteedRef { $0.unpinMapped() } }
            let n = folio._withUnsafeGuaranteedRef { f in
                min(buffer.count - done, f.byteCount - f.byteOffset(of: index) - inPage)
            }
            try checkEOF(pos, n)
            folio._withUnsafeGuaranteedRef { f in
                if let src = f.bytes(of: index) { (base + done).copyMemory(from: src + inPage, byteCount: n) }
            }
            done += n
        }
    }

    /// Stores `bytes` at file offset `start`, page by page, each page under
    /// its lock (`withPageLockedForWrite`).
    @usableFromInline
    func storePages(_ bytes: UnsafeRawBufferPointer, at start: Int64) throws(FolioError) {
        guard let base = bytes.baseAddress else { return }
        try forEachPagePiece(from: start, count: bytes.count) { (pos, inPage, done, n) throws(FolioError) in
            let index = file.pageIndex(of: pos)
            try ViewAccessFailure<Never>.flatten { () throws(ViewAccessFailure<Never>) in
                try withPageLockedForWrite(index, pos, n) { f in
                    if let dst = f.bytes(of: index) { (dst + inPage).copyMemory(from: base + done, byteCount: n) }
                }
            }
        }
    }

    /// Runs `change` on page `index` to write `[start, start + count)` (which
    /// lies in that page): faults the page in (pinned), then takes it for
    /// writing through the strategy — `lockPages(.exclusive)` and the folio
    /// lock, as `CachedFile.write` does — rechecks under the lock, runs
    /// `change`, marks the folio dirty, unlocks, unpins.
    ///
    /// Why a writer holds the lock although readers only pin: everything
    /// else that touches a page's bytes or its dirty state holds it —
    /// writeback (which must send bytes that do not change under it, then
    /// clear `dirty` only for what it sent), truncate (which zeroes the tail
    /// past a new EOF and removes pages), close (which writes back and drops
    /// everything). A writer with only a pin could change bytes while they
    /// are being written out and leave the page clean with unsaved bytes, or
    /// write past a new EOF into the tail truncate just zeroed, or into a
    /// page close has already dropped. Under the lock the recheck sees each
    /// of those: detached (truncated, evicted, closed) → fault again (and
    /// `.closed` after close); bytes past EOF → `beyondEndOfFile`, nothing
    /// written.
    @inlinable
    func withPageLockedForWrite<R, E: Error>(_ index: PageIndex, _ start: Int64, _ count: Int, _ change: (Folio) throws(E) -> R) throws(ViewAccessFailure<E>) -> R {
        let (folio, filled, pages) = try ViewAccessFailure<E>.folio { () throws(FolioError) in try file.writeFault(index, start: start, count: count) }
        faults.wrappingAdd(1, ordering: .relaxed)
        if filled { fills.wrappingAdd(1, ordering: .relaxed) }
        let slot = entries + (Int(truncatingIfNeeded: index.rawValue &- firstPage) & entryMask)
        RawAtomic64.storeRelaxed(slot, UInt64(UInt(bitPattern: folio.toOpaque())))
        defer { file.finishWriteFault(folio, pages) }
        let result = folio._withUnsafeGuaranteedRef { f -> Result<R, E> in
            // The bytes change: a kept compressed copy goes.
            if f.flags.contains(.compressedCopy) { file.cache.dropCompressedCopy(f, of: file.mapping) }
            // Dirty even if `change` throws: it may have changed bytes first.
            defer { f.markDirty(index) }
            return f.changingBytes(versioned: Strategy.locksFolios) { Result { () throws(E) -> R in try change(f) } }
        }
        do { return try result.get() } catch { throw .body(error) }
    }
}
