import FolioLocks
import Synchronization

extension CachedFile {
    /// Maps `range` (bytes of the file) as a view: a window that behaves like
    /// a `MAP_SHARED` mapping in user space. See `FileView`.
    ///
    /// The range may extend past the current end of the file (touching bytes
    /// there throws `FolioError.beyondEndOfFile` until the file grows), but not
    /// start before 0 or overflow. `faultAround` overrides the cache's
    /// `faultAroundPages`.
    public func map(_ range: Range<Int64>, mode: ViewMode = .readOnly, faultAround: Int? = nil) throws(FolioError) -> FileView<Strategy> {
        let (count, overflow) = range.upperBound.subtractingReportingOverflow(range.lowerBound)
        guard !overflow, count <= Int64(Int.max) else {
            throw .invalidArgument("map of '\(path)': range \(range) is too large")
        }
        _ = try checkRange("map", offset: range.lowerBound, count: Int(count))
        let around = faultAround ?? cache.configuration.faultAroundPages
        guard around >= 0, around <= PageCacheConfiguration.maxFaultAroundPages else {
            throw .invalidArgument("map of '\(path)': faultAround \(around) is not from 0 to \(PageCacheConfiguration.maxFaultAroundPages)")
        }
        try checkOpen()
        if mode == .readWrite { try checkWritable("map read-write") }
        return FileView(file: self, range: range, mode: mode, faultAround: around)
    }

    /// The fault path: the folio of page `index`, pinned with a mapped pin
    /// (`Folio.oneMappedPin`; the caller calls `unpinMapped`),
    /// or `beyondEndOfFile` if the page does not reach below EOF. Every touch
    /// of a page that a view has not mapped comes through here, the same way
    /// each time: look up; if absent, insert a locked folio and fill it (the
    /// read-miss path, under the invalidate lock shared); if present, pin it
    /// and lock it through the strategy; recheck; unlock. Returns whether the
    /// page had to be filled.
    @inlinable
    func fault(_ index: PageIndex) throws(FolioError) -> (folio: Unmanaged<Folio>, filled: Bool) {
        while true {
            try checkOpen()
            let pageStart = mapping.offset(of: index)
            let pagesGuard = strategy.lockPages(onePage(index), .shared, in: mapping.pageLock)
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({ $0.lookupAndPinUnretained(index) }) else {
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                // Not cached: fill it. The fill hands the folio back pinned
                // and locked; under that lock it is this file's page and
                // uptodate, and below EOF unless a truncate between the
                // fill's own check and now lowered it — re-validated here.
                switch try fill(index) {
                case .filled(let folio, let pages):
                    let belowEOF = pageStart < mapping.size.load(ordering: .acquiring)
                    // Mapped under the lock, so that collapse and split see it.
                    if belowEOF { folio._withUnsafeGuaranteedRef { $0.markPinMapped() } }
                    folio._withUnsafeGuaranteedRef { strategy.unlockFolio($0) }
                    strategy.unlockPages(pages, in: mapping.pageLock)
                    if belowEOF { return (folio, true) }
                    folio._withUnsafeGuaranteedRef { $0.unpin() }
                    continue
                case .pastEOF:
                    throw .beyondEndOfFile(path: path, offset: pageStart, size: mapping.size.load(ordering: .acquiring))
                case .lostRace:
                    continue
                }
            }
            let verdict: FaultVerdict = found._withUnsafeGuaranteedRef { folio in
                strategy.lockFolio(folio)
                defer { strategy.unlockFolio(folio) }
                // Recheck after the folio lock (per-page strategies): while
                // this thread slept on the lock, the folio may have been
                // truncated away, evicted, or failed its fill — then it is
                // detached, no longer the page at `index`, and the lookup is
                // retried. The pool recycles a folio for another page only
                // once nobody pins it (our pin), so a folio that is not
                // detached is still this mapping's folio for `index`.
                // (Per-inode and per-range took their lock before the lookup.)
                let state = folio.flags
                if state.contains(.detached) || !state.contains(.uptodate) { return .retry }
                // And below EOF. Truncate removes every page past its new end
                // with that page's lock held and lowers the size before it
                // unlocks, so under this lock a folio that is not detached
                // should lie below EOF; the check makes "a fault never returns
                // a page past EOF" hold by itself, for two loads.
                if pageStart >= mapping.size.load(ordering: .acquiring) { return .beyondEOF }
                cache.recordAccess(folio)
                folio.markPinMapped()
                return .mapped
            }
            strategy.unlockPages(pagesGuard, in: mapping.pageLock)
            switch verdict {
            case .mapped:
                // Pinned (from the lookup) and unlocked: the caller's closure
                // runs with the pin only.
                return (found, false)
            case .retry:
                found._withUnsafeGuaranteedRef { $0.unpin() }
            case .beyondEOF:
                found._withUnsafeGuaranteedRef { $0.unpin() }
                throw .beyondEndOfFile(path: path, offset: pageStart, size: mapping.size.load(ordering: .acquiring))
            }
        }
    }

    /// The write fault: the folio of page `index` pinned **and locked** for
    /// writing — `lockPages(.exclusive)` and the folio lock, as
    /// `CachedFile.write` holds them — after the same recheck as `fault`;
    /// the caller changes the bytes, marks the folio dirty and calls
    /// `finishWriteFault`. One lock acquisition per write (the kernel's
    /// write fault locks the page in `page_mkwrite` the same way). Throws
    /// `beyondEndOfFile` unless `[start, start + count)` lies below EOF.
    @inlinable
    func writeFault(_ index: PageIndex, start: Int64, count: Int) throws(FolioError) -> (folio: Unmanaged<Folio>, filled: Bool, pages: Strategy.PagesGuard) {
        while true {
            try checkOpen()
            let pagesGuard = strategy.lockPages(onePage(index), .exclusive, in: mapping.pageLock)
            guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({ $0.lookupAndPinUnretained(index) }) else {
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                // Not cached: fill it; the folio comes back pinned and locked
                // with its range exclusive — exactly what the writer keeps.
                switch try fill(index) {
                case .filled(let folio, let pages):
                    if start + Int64(count) <= mapping.size.load(ordering: .acquiring) { return (folio, true, pages) }
                    finishFill(folio, pages: pages)
                    let size = mapping.size.load(ordering: .acquiring)
                    throw .beyondEndOfFile(path: path, offset: max(start, size), size: size)
                case .pastEOF:
                    throw .beyondEndOfFile(path: path, offset: mapping.offset(of: index), size: mapping.size.load(ordering: .acquiring))
                case .lostRace:
                    continue
                }
            }
            let verdict: FaultVerdict = found._withUnsafeGuaranteedRef { folio in
                strategy.lockFolio(folio)
                // The recheck of `fault`, under the lock this writer keeps:
                // a detached folio (truncated, evicted, dropped by close) is
                // not the page any more; bytes past EOF are not writable.
                let state = folio.flags
                if state.contains(.detached) || !state.contains(.uptodate) {
                    strategy.unlockFolio(folio)
                    return .retry
                }
                if start + Int64(count) > mapping.size.load(ordering: .acquiring) {
                    strategy.unlockFolio(folio)
                    return .beyondEOF
                }
                cache.recordAccess(folio)
                return .mapped
            }
            switch verdict {
            case .mapped:
                return (found, false, pagesGuard)
            case .retry:
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                found._withUnsafeGuaranteedRef { $0.unpin() }
            case .beyondEOF:
                strategy.unlockPages(pagesGuard, in: mapping.pageLock)
                found._withUnsafeGuaranteedRef { $0.unpin() }
                let size = mapping.size.load(ordering: .acquiring)
                throw .beyondEndOfFile(path: path, offset: max(start, size), size: size)
            }
        }
    }

    /// Ends a `writeFault`: unlocks and unpins.
    @inlinable
    func finishWriteFault(_ folio: Unmanaged<Folio>, _ pages: Strategy.PagesGuard) {
        folio._withUnsafeGuaranteedRef { strategy.unlockAndUnpinFolio($0) }
        strategy.unlockPages(pages, in: mapping.pageLock)
    }

    /// Fault-around: whether page `index`, if already cached and uptodate,
    /// can be mapped now without waiting — a lock-free lookup, a *trylock*
    /// through the strategy (a busy page is skipped), the same recheck as a
    /// fault. Never reads from the backend. Returns the folio (not pinned: a
    /// view's mapping is only a hint it validates on use) or nil.
    @inlinable
    func faultAroundCandidate(_ index: PageIndex) -> Unmanaged<Folio>? {
        let pageStart = mapping.offset(of: index)
        guard pageStart < mapping.size.load(ordering: .acquiring) else { return nil }
        guard let pagesGuard = strategy.tryLockPages(onePage(index), .shared, in: mapping.pageLock) else { return nil }
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        guard let found = Unmanaged.passUnretained(mapping.table)._withUnsafeGuaranteedRef({
            $0.lookupLockFree(index, acquire: { $0.tryPin() }, release: { $0.unpin() })
        }) else { return nil }
        let ok = found._withUnsafeGuaranteedRef { folio -> Bool in
            defer { folio.unpin() }
            guard strategy.tryLockFolio(folio) else { return false }
            defer { strategy.unlockFolio(folio) }
            let state = folio.flags
            return !state.contains(.detached) && state.contains(.uptodate)
                && pageStart < mapping.size.load(ordering: .acquiring)
        }
        return ok ? found : nil
    }
}

/// What a fault found after locking the folio.
@usableFromInline
enum FaultVerdict {
    case mapped, retry, beyondEOF
}
