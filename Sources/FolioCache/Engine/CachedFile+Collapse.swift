import FolioLocks
import Synchronization

/// What a `compact()` did.
public struct CompactionReport: Sendable, Equatable {
    /// Runs merged into one large folio.
    public var collapses = 0
    /// Runs given up, by reason.
    public var aborts: [CollapseAbort: Int] = [:]
    /// An empty report: no collapses, no aborts.
    public init() {}

    mutating func add(_ other: CompactionReport) {
        collapses += other.collapses
        for (reason, n) in other.aborts { aborts[reason, default: 0] += n }
    }
}

/// What one attempt to collapse a run did.
enum CollapseOutcome: Equatable {
    case collapsed
    case aborted(CollapseAbort)
    /// Nothing to do: no page of the run is cached, or one folio already
    /// covers it or reaches beyond it.
    case skipped
}

extension CachedFile {
    /// Collapse on demand (the khugepaged analogue, run by the caller): for
    /// every aligned block of `2^maxFolioOrder` pages of the file that holds
    /// cached pages in more than one folio, merges it into one large folio —
    /// or, for the block at the end of the file, each aligned run of it that
    /// lies below EOF — if every page of it is cached, uptodate, not being
    /// read in place by a view, and not busy. Trylock only: the first busy
    /// page aborts the run (counted by reason in the report and in
    /// `CacheStatistics.collapseAborts`); nothing waits. Dirty pages are
    /// carried into the large folio with their per-page dirty bits. The
    /// background collapser (`PageCache.startBackgroundCollapse`) runs the
    /// same code.
    @discardableResult
    public func compact() throws(FolioError) -> CompactionReport {
        try checkOpen()
        var report = CompactionReport()
        for run in collapseCandidates() {
            if isClosed { break }
            switch collapse(run) {
            case .collapsed: report.collapses += 1
            case .aborted(let reason): report.aborts[reason, default: 0] += 1
            case .skipped: break
            }
        }
        return report
    }

    /// The runs worth trying, from a snapshot of the cached folios: per
    /// aligned block with cached pages in folios smaller than the block,
    /// the block itself when it lies below EOF, else its aligned runs below
    /// EOF of at least two pages.
    func collapseCandidates() -> [Range<PageIndex>] {
        let maxOrder = mapping.maxFolioOrder
        guard maxOrder > 0 else { return [] }
        let blockPages = UInt64(1) << UInt64(maxOrder)
        let size = mapping.size.load(ordering: .acquiring)
        let eofPages = (UInt64(max(size, 0)) + UInt64(pageSize - 1)) >> UInt64(mapping.pageShift)
        var blocks: [UInt64] = []
        for folio in mapping.table.pinnedFolios() {
            if Int(folio.order) < maxOrder {
                let block = folio.index.rawValue & ~(blockPages - 1)
                if blocks.last != block { blocks.append(block) }
            }
            folio.unpin()
        }
        var runs: [Range<PageIndex>] = []
        for block in Set(blocks).sorted() {
            if block + blockPages <= eofPages {
                runs.append(PageIndex(block)..<PageIndex(block + blockPages))
            } else if block < eofPages {
                for (index, order) in CachedFile.alignedPieces(block..<eofPages) where order > 0 {
                    runs.append(PageIndex(index)..<PageIndex(index + (1 << UInt64(order))))
                }
            }
        }
        return runs
    }

    /// Collapses the aligned run `run` (2^k pages, k ≥ 1, at most the
    /// cache's largest order) into one folio, through the strategy and with
    /// trylocks only, in the lock order of every path: the invalidate lock
    /// shared (a collapse inserts a folio, as a fill does; truncate is
    /// excluded), the run's range exclusive (per-inode: the file; per-range:
    /// the range), then every folio of the run in ascending order
    /// (per-page strategies). Under them: the run must lie below EOF, every
    /// page be cached in folios inside the run, uptodate, not under
    /// writeback and not mapped by a view reading in place. The new folio
    /// gets a copy of the bytes and the dirty pages, replaces the old
    /// folios' entries in one step, and takes their standing in the eviction
    /// policy; the old ones are detached — a thread asleep on one of them
    /// wakes, fails its recheck and retries, finding the new folio.
    func collapse(_ run: Range<PageIndex>) -> CollapseOutcome {
        let count = run.upperBound.rawValue - run.lowerBound.rawValue
        precondition(count >= 2 && count & (count - 1) == 0 && run.lowerBound.rawValue & (count - 1) == 0
                     && count.trailingZeroBitCount <= mapping.maxFolioOrder, "collapse: \(run) is not an aligned run of a folio order")
        let order = UInt8(count.trailingZeroBitCount)
        guard strategy.tryLockInvalidate(.shared, in: mapping.pageLock) else { return abort(.busy) }
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        guard let pagesGuard = strategy.tryLockPages(run, .exclusive, in: mapping.pageLock) else { return abort(.busy) }
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        if isClosed { return .skipped }
        // Truncate holds the invalidate lock (per-page strategies) or the
        // range (the others) to change the size downwards: stable here.
        let size = mapping.size.load(ordering: .acquiring)
        guard mapping.offset(of: run.upperBound.advanced(by: -1)) < size else { return abort(.pastEOF) }

        // The folios of the run, pinned, in ascending order.
        var old: [Folio] = []
        defer { for f in old { f.unpin() } }
        var i = run.lowerBound
        while i < run.upperBound {
            guard let f = mapping.table.lookupAndPin(i) else {
                return old.isEmpty && i == run.lowerBound && !anyCached(run) ? .skipped : abort(.notAllCached)
            }
            old.append(f)
            if f.index < run.lowerBound || f.endIndex > run.upperBound || (f.index == run.lowerBound && f.endIndex == run.upperBound) {
                return .skipped  // already one folio of this size or more
            }
            i = f.endIndex
        }
        // Trylock each (per-page strategies), ascending; the first busy one aborts.
        var locked = 0
        defer { for f in old.prefix(locked).reversed() { strategy.unlockFolio(f) } }
        for f in old {
            guard strategy.tryLockFolio(f) else { return abort(.busy) }
            locked += 1
            let state = f.flags
            if state.contains(.detached) || state.contains(.writeback) { return abort(.busy) }
            if !state.contains(.uptodate) { return abort(.notUptodate) }
            if f.mappedPinCount > 0 { return abort(.pinned) }
        }
        let new = cache.pool.take(index: run.lowerBound, order: order, mapping: mapping, zeroed: false)
        strategy.lockUnpublishedFolio(new)  // unpublished: never waits
        if let dst = new.data {
            for f in old {
                if let src = f.data { (dst + new.byteOffset(of: f.index)).copyMemory(from: src, byteCount: f.byteCount) }
            }
        }
        for f in old where f.flags.contains(.dirty) {
            for page in f.pages where f.isPageDirty(page) { new.markDirty(page) }
        }
        new.setFlags(.uptodate)
        cache.runReplaceHook(old, [new])
        // The new folio does not inherit the old ones' kept compressed copies.
        for f in old { cache.dropCompressedCopy(f, of: mapping) }
        cache.residentBytes.wrappingAdd(new.byteCount, ordering: .relaxed)
        guard mapping.table.replace(old, with: new, allowedPins: .max) else {
            // A view mapped one of them after the check above.
            cache.residentBytes.wrappingSubtract(new.byteCount, ordering: .relaxed)
            abandonUnpublished(new)
            return abort(.pinned)
        }
        cache.residentBytes.wrappingSubtract(old.reduce(0) { $0 + $1.byteCount }, ordering: .relaxed)
        cache.policy.replace(old, with: [new])
        for f in old { f.markUnlisted() }
        cache.counters.collapses.wrappingAdd(1, ordering: .relaxed)
        strategy.unlockFolio(new)
        new.unpin()
        return .collapsed
    }

    func abort(_ reason: CollapseAbort) -> CollapseOutcome {
        cache.counters.countAbort(reason)
        return .aborted(reason)
    }

    /// Whether any page of `run` is cached.
    func anyCached(_ run: Range<PageIndex>) -> Bool {
        var i = run.lowerBound
        while i < run.upperBound {
            if let f = mapping.table.lookupAndPin(i) {
                f.unpin()
                return true
            }
            i = i.advanced(by: 1)
        }
        return false
    }
}
