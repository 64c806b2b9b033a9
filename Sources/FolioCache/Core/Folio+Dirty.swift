import FolioLocks

/// Which pages of a folio are dirty.
///
/// An order-0 folio has only the `dirty` flag. A large folio also has **one
/// dirty bit per page**, in a bitmap of `dirtyWordCount(order:)` words that
/// trails its data in the same buffer (`data + byteCount`; 8 bytes for up to
/// 64 pages, so 8 bytes per 64 KiB folio of 4 KiB pages). The `dirty` flag is
/// the summary: set whenever a bit is. So a 4 KiB write into a 64 KiB folio
/// writes back 4 KiB, not 64 — the kernel's iomap per-block dirty state, and
/// the reason a partial write does not have to split the folio
/// (docs/large-folios.md has the measurement that chose this over
/// split-on-write).
///
/// Writers set bits with an atomic or, holding the page's lock as every
/// writer does: per-page strategies the folio lock, per-inode the file lock,
/// per-range only the written page's range — so two writers of different
/// pages of one large folio may set bits of one word at once. Writeback,
/// collapse and split hold the folio's whole range and lock, which excludes
/// every writer, and read and clear the bitmap there.
extension Folio {
    /// Words of dirty bitmap a folio of `order` carries after its data (0 for
    /// order 0, which has only the flag).
    @inlinable package static func dirtyWordCount(order: UInt8) -> Int {
        order == 0 ? 0 : ((1 << Int(order)) + 63) >> 6
    }

    /// The bitmap (nil for order 0 and for folios without data).
    @inlinable var dirtyBitmap: UnsafeMutablePointer<UInt64>? {
        guard order > 0, let data else { return nil }
        return (data + byteCount).assumingMemoryBound(to: UInt64.self)
    }

    /// Marks page `i` (which the folio contains) dirty. The caller holds the
    /// page's lock.
    @inlinable package func markDirty(_ i: PageIndex) {
        if let bitmap = dirtyBitmap {
            let bit = Int(truncatingIfNeeded: i.rawValue &- index.rawValue)
            RawAtomic64.fetchOrRelaxed(bitmap + (bit >> 6), 1 << UInt64(bit & 63))
        }
        // The flag after the bit: whoever sees the flag finds the bit.
        let f = flags
        if !f.contains(.dirty) { setFlags(.dirty) }
        // The bytes changed: a compressed copy no longer matches them.
        if f.contains(.compressedCopy) { clearFlags(.compressedCopy) }
    }

    /// Marks every page of `pages` (inside the folio) dirty.
    package func markDirty(pages: Range<PageIndex>) {
        guard !pages.isEmpty else { return }
        if let bitmap = dirtyBitmap {
            for i in pages {
                let bit = Int(truncatingIfNeeded: i.rawValue &- index.rawValue)
                RawAtomic64.fetchOrRelaxed(bitmap + (bit >> 6), 1 << UInt64(bit & 63))
            }
        }
        setFlags(.dirty)
        if flags.contains(.compressedCopy) { clearFlags(.compressedCopy) }
    }

    /// Whether page `i` is dirty (its bit; for order 0 the flag).
    package func isPageDirty(_ i: PageIndex) -> Bool {
        guard flags.contains(.dirty) else { return false }
        guard let bitmap = dirtyBitmap else { return true }
        let bit = Int(truncatingIfNeeded: i.rawValue &- index.rawValue)
        return RawAtomic64.loadRelaxed(bitmap + (bit >> 6)) & (1 << UInt64(bit & 63)) != 0
    }

    /// The dirty pages, as page offsets from the folio's first page, in
    /// ascending runs (`[0, pageCount)` for a dirty order-0 folio). The
    /// caller holds the folio's whole lock.
    package func dirtyRuns() -> [Range<Int>] {
        guard flags.contains(.dirty) else { return [] }
        guard let bitmap = dirtyBitmap else { return [0..<pageCount] }
        var runs: [Range<Int>] = []
        var start = -1
        for page in 0..<pageCount {
            let set = RawAtomic64.loadRelaxed(bitmap + (page >> 6)) & (1 << UInt64(page & 63)) != 0
            if set && start < 0 { start = page }
            if !set && start >= 0 {
                runs.append(start..<page)
                start = -1
            }
        }
        if start >= 0 { runs.append(start..<pageCount) }
        return runs
    }

    /// Clears every dirty bit and the flag (the caller holds the folio's
    /// whole lock; writeback, before its I/O).
    package func clearDirty() {
        if let bitmap = dirtyBitmap {
            for w in 0..<Folio.dirtyWordCount(order: order) { RawAtomic64.storeRelaxed(bitmap + w, 0) }
        }
        clearFlags(.dirty)
    }
}
