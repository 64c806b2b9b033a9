import FolioLocks
import Synchronization

extension CachedFile {
    /// Splits a large folio into smaller ones that tile it with a boundary
    /// at page `cut` — the largest aligned pieces on either side (a folio of
    /// pages 0–15 cut at 5: 0–3, 4, 5, 6–7, 8–15), as the kernel's
    /// non-uniform split does — so that what lies on one side can be
    /// dropped or written alone and the rest stays large.
    ///
    /// The caller holds what every change to the folio needs: its whole
    /// range exclusive (`lockPages(folio.pages)`; per-inode the file lock),
    /// its lock (per-page strategies) and one pin. The pieces are new
    /// folios, each **locked and pinned once for the caller** (who unlocks
    /// and unpins them when done), holding the old folio's bytes, dirty
    /// pages and access standing; they replace the old folio's table entries
    /// in one step (`PageTable.replace`), and the old folio is detached:
    /// a thread that pinned it and sleeps on its lock wakes, fails its
    /// recheck and retries, finding a piece. The budget does not change
    /// (same pages), the eviction policy swaps the folio for its pieces.
    ///
    /// Returns nil, changing nothing, if a view is reading the folio in
    /// place (a mapped pin: the bytes must stay where the view reads them)
    /// or the folio is not uptodate or not in the table any more.
    func splitLocked(_ folio: Folio, at cut: PageIndex) -> [Folio]? {
        assert(!Strategy.locksFolios || folio.isLockBitSet, "splitLocked: the folio must be locked")
        let state = folio.flags
        guard folio.order > 0, folio.contains(cut), cut != folio.index,
              state.contains(.uptodate), !state.contains(.detached), folio.mappedPinCount == 0,
              let source = folio.data
        else { return nil }
        // The pieces do not inherit a kept compressed copy.
        cache.dropCompressedCopy(folio, of: mapping)
        var pieces: [Folio] = []
        for (index, order) in CachedFile.tiling(folio.index.rawValue..<folio.endIndex.rawValue, cut: cut.rawValue) {
            let piece = cache.pool.take(index: PageIndex(index), order: order, mapping: mapping, zeroed: false)
            // Unpublished: nobody else can hold it, this never waits.
            strategy.lockUnpublishedFolio(piece)
            if let dst = piece.data {
                dst.copyMemory(from: source + folio.byteOffset(of: piece.index), byteCount: piece.byteCount)
            }
            for page in piece.pages where folio.isPageDirty(page) { piece.markDirty(page) }
            piece.setFlags(.uptodate)
            pieces.append(piece)
        }
        cache.runReplaceHook([folio], pieces)
        guard mapping.table.replace(folio, with: pieces, allowedPins: .max) else {
            for piece in pieces { abandonUnpublished(piece) }
            return nil
        }
        cache.policy.replace([folio], with: pieces)
        folio.markUnlisted()
        cache.counters.splits.wrappingAdd(1, ordering: .relaxed)
        return pieces
    }

    /// Splits the cached large folio holding the byte at `offset` so that
    /// its page starts a piece (or, at the folio's first page, ends one) —
    /// what a split-on-write would do before a partial write — under the
    /// locks reclaim's split takes (the folio's range exclusive, its lock).
    /// Returns whether it split. For the benchmark that measures per-page
    /// dirty bits against split-on-write (docs/large-folios.md); the engine
    /// does not split on write.
    @_spi(FolioInternals) public func split(at offset: Int64) -> Bool {
        let index = pageIndex(of: offset)
        guard let folio = mapping.table.lookupAndPin(index) else { return false }
        defer { folio.unpin() }
        guard folio.order > 0 else { return false }
        let pagesGuard = strategy.lockPages(folio.pages, .exclusive, in: mapping.pageLock)
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        strategy.lockFolio(folio)
        defer { strategy.unlockFolio(folio) }
        guard !folio.flags.contains(.detached), folio.contains(index) else { return false }
        let cut = index == folio.index ? index.advanced(by: 1) : index
        guard let pieces = splitLocked(folio, at: cut) else { return false }
        for piece in pieces {
            strategy.unlockFolio(piece)
            piece.unpin()
        }
        return true
    }

    /// Gives back a folio taken from the pool, locked and pinned by the
    /// caller, that was never published (a collapse or split that found its
    /// folios changed).
    func abandonUnpublished(_ folio: Folio) {
        strategy.unlockFolio(folio)
        folio.setFlags(.detached)
        folio.markUnlisted()
        folio.unpin()
    }

    /// The aligned power-of-two pieces that tile `pages` with a boundary at
    /// `cut` (inside it): the largest aligned pieces below `cut`, then above.
    static func tiling(_ pages: Range<UInt64>, cut: UInt64) -> [(index: UInt64, order: UInt8)] {
        precondition(pages.contains(cut), "tiling: cut \(cut) not in \(pages)")
        return alignedPieces(pages.lowerBound..<cut) + alignedPieces(cut..<pages.upperBound)
    }

    /// `range` as aligned power-of-two pieces, largest first where the
    /// alignment allows (the buddy decomposition).
    static func alignedPieces(_ range: Range<UInt64>) -> [(index: UInt64, order: UInt8)] {
        var out: [(index: UInt64, order: UInt8)] = []
        var lo = range.lowerBound
        while lo < range.upperBound {
            let left = range.upperBound - lo
            let fit = UInt64.bitWidth - 1 - left.leadingZeroBitCount  // floor(log2(left))
            let order = min(lo == 0 ? fit : lo.trailingZeroBitCount, fit)
            out.append((lo, UInt8(order)))
            lo += 1 << UInt64(order)
        }
        return out
    }
}
