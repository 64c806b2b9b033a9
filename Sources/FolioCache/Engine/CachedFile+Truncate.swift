import FolioLocks
import Synchronization

extension CachedFile {
    /// Sets the file's size. Shrinking drops cached pages past the new end
    /// (dirty ones are discarded, as truncation means), splits a large folio
    /// that the new end cuts through so that its pages past the end go
    /// (`splitLocked`), and zeroes the tail of the page that contains the
    /// new end; growing makes the new range read as zeros. The backing file
    /// is resized before the cache changes, so a failure leaves both as
    /// they were.
    public func truncate(to newSize: Int64) throws(FolioError) {
        try checkWritable("truncate")
        guard newSize >= 0 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is negative") }
        guard newSize <= Int64.max >> 1 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is too large") }
        try checkOpen()
        // From the start of the aligned block that holds the new end: a
        // large folio the end cuts through starts there at the earliest, and
        // splitting it needs its whole range.
        let cut = pageIndex(of: newSize)
        let blockStart = PageIndex(cut.rawValue & ~((1 << UInt64(mapping.maxFolioOrder)) - 1))
        try withTailLocked(from: blockStart) { (folios) throws(FolioError) in
            try checkOpen()
            try mapping.backend.truncate(to: newSize)
            let pieces = dropCachedPages(folios, pastEOF: newSize)
            mapping.size.store(newSize, ordering: .releasing)
            // The pieces of a split folio, locked until the size is final.
            for piece in pieces {
                strategy.unlockFolio(piece)
                piece.unpin()
            }
        }
    }

    /// With the tail locked (`folios`: every folio from the block that holds
    /// `eof` on, as `withTailLocked` locked them): removes folios wholly past `eof`; splits a
    /// large folio that `eof` cuts through at the first page past it (and
    /// removes the pieces past it), or, when a view is reading it in place
    /// and it cannot be split, keeps it whole; zeroes the bytes past `eof`
    /// of the folio that contains it (cached bytes past EOF are always zero,
    /// which is what makes a later grow read zeros). Returns the pieces of a
    /// split, locked and pinned for the caller.
    func dropCachedPages(_ folios: [Folio], pastEOF eof: Int64) -> [Folio] {
        var kept: [Folio] = []
        for folio in folios {
            let keep = mapping.bytesBelow(eof, in: folio)
            // A compressed folio is clean: dropped whole (its pages below
            // EOF are read again), never split or zeroed inside its block.
            if keep == 0 || folio.flags.contains(.compressed) {
                removeLocked(folio)
                continue
            }
            guard keep < folio.byteCount else { continue }
            // Its tail is zeroed (or split off): a kept compressed copy no
            // longer matches.
            cache.dropCompressedCopy(folio, of: mapping)
            // The first page wholly past EOF: a large folio keeps its pages
            // below it only if it can be split there.
            let firstGone = pageIndex(of: eof + Int64(pageSize - 1))
            if folio.order > 0, folio.contains(firstGone), firstGone != folio.index,
               let pieces = splitLocked(folio, at: firstGone) {
                for piece in pieces {
                    let pieceKeep = mapping.bytesBelow(eof, in: piece)
                    if pieceKeep == 0 {
                        removeLocked(piece)
                    } else if pieceKeep < piece.byteCount, let data = piece.data {
                        piece.changingBytes(versioned: Strategy.locksFolios) {
                            _ = (data + pieceKeep).initializeMemory(as: UInt8.self, repeating: 0, count: piece.byteCount - pieceKeep)
                        }
                    }
                    kept.append(piece)
                }
            } else if let data = folio.data {
                folio.changingBytes(versioned: Strategy.locksFolios) {
                    _ = (data + keep).initializeMemory(as: UInt8.self, repeating: 0, count: folio.byteCount - keep)
                }
            }
        }
        return kept
    }
}
