import FolioLocks
import Synchronization

/// The compressed tier: reclaim's first stage keeps a cold, clean folio (of
/// any order; large ones compress best)
/// LZ4-compressed (`CompressedBlock`: the block and its XXH3-64 checksum)
/// instead of evicting it, when that saves at least
/// `compression.minimumSaving` of its bytes; the budget is then charged the
/// block's resident bytes, not the folio's. The folio stays in its page table
/// as a second kind of entry — flag `compressed`, no data buffer, its block
/// in the mapping's `compressedBlocks` — that every lookup treats as a miss
/// (`Folio.liveMask`): the miss goes down the one fill path, whose insert
/// finds the compressed folio and decompresses it in place under the locks a
/// fill of its range would take (`CachedFile.decompress`). The compressed copy
/// is dropped then (OpenZFS's compressed ARC keeps both; one copy keeps the
/// accounting simple, and a folio read again is hot).
///
/// A compressed folio leaves the eviction policy (as an eviction) for the
/// cache's `CompressedTier`, a FIFO allowed `compression.maxShare` of the
/// budget; reclaim evicts from the tier, oldest first, while it holds more,
/// and compresses the policy's victims otherwise. A decompressed folio goes
/// back to the policy as a miss's folio would (S3-FIFO: a ghost hit, into
/// main).
///
/// Integrity: the checksum is verified before every decompression, and
/// decompression is bounds-checked. Only clean folios are compressed, so a
/// block that fails is never the only copy: it is dropped, counted
/// (`CacheStatistics.checksumFailures`) and the page is read again from the
/// file.
extension PageCache {
    /// With the folio pinned once (by reclaim) and locked with its whole
    /// range, clean: compresses it if that saves enough — or, if it kept its
    /// compressed copy and its bytes did not change since, takes that copy
    /// back without compressing; returns whether it is now compressed.
    func compressLocked(_ folio: Folio, of mapping: MappingCore) -> Bool {
        guard compressionEnabled, let data = folio.data else { return false }
        let state = folio.flags
        guard state.contains(.uptodate), !state.contains(.dirty), !state.contains(.compressed), !state.contains(.detached) else { return false }
        let kept = state.contains(.compressedCopy) ? mapping.compressedBlocks.withLock { $0[folio.index.rawValue] } : nil
        if kept == nil { dropCompressedCopy(folio, of: mapping) }  // none, or stale
        guard let block = kept ?? CompressedBlock.compress(UnsafeRawBufferPointer(start: data, count: folio.byteCount),
                                                           minimumSaving: configuration.compression.minimumSaving)
        else { return false }
        // From this flag on, lookups miss and `tryPin` refuses the folio; a
        // pin taken before it is seen now (both are atomics on the same word).
        folio.setFlags(.compressed)
        if folio.pinCount > 1 {
            folio.clearFlags(.compressed)
            return false
        }
        folio.clearFlags([.uptodate, .compressedCopy])
        policy.evicted(folio)
        tier.insert(folio, bytes: block.residentBytes)
        folio.data = nil
        pool.putBuffer(data, order: folio.order)
        if kept != nil {
            // The block was charged already: only the bytes leave.
            residentBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
            counters.compressionSavedBytes.wrappingAdd(folio.byteCount, ordering: .relaxed)
            counters.copiesReused.wrappingAdd(1, ordering: .relaxed)
        } else {
            mapping.compressedBlocks.withLock { $0[folio.index.rawValue] = block }
            let saved = folio.byteCount - block.residentBytes
            residentBytes.wrappingSubtract(saved, ordering: .relaxed)
            counters.compressions.wrappingAdd(1, ordering: .relaxed)
            counters.compressionSavedBytes.wrappingAdd(saved, ordering: .relaxed)
        }
        counters.compressedFolios.wrappingAdd(1, ordering: .relaxed)
        return true
    }

    /// Drops the compressed copy an uncompressed folio (its lock held) kept
    /// from its last decompression, if it has one: its block leaves the
    /// budget. Before anything changes the folio's bytes or replaces it
    /// (write, collapse, split, truncate), and when it leaves the cache.
    @usableFromInline func dropCompressedCopy(_ folio: Folio, of mapping: MappingCore) {
        guard !folio.flags.contains(.compressed) else { return }
        if folio.flags.contains(.compressedCopy) { folio.clearFlags(.compressedCopy) }
        guard let block = mapping.compressedBlocks.withLock({ $0.removeValue(forKey: folio.index.rawValue) }) else { return }
        residentBytes.wrappingSubtract(block.residentBytes, ordering: .relaxed)
        counters.compressionSavedBytes.wrappingAdd(block.residentBytes, ordering: .relaxed)
    }

    /// A folio whose lock the caller holds left its page table (`evicted`
    /// by reclaim, or removed): the policy — or, compressed, the tier — lets
    /// go of it, and its resident bytes leave the budget (its block's if it
    /// is compressed; the block is dropped).
    func forget(_ folio: Folio, of mapping: MappingCore, evicted: Bool) {
        guard folio.flags.contains(.compressed) else {
            dropCompressedCopy(folio, of: mapping)
            if evicted { policy.evicted(folio) } else { policy.remove(folio) }
            residentBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
            return
        }
        let block = mapping.compressedBlocks.withLock { $0.removeValue(forKey: folio.index.rawValue) }
        let resident = block?.residentBytes ?? 0
        tier.remove(folio, bytes: resident)
        residentBytes.wrappingSubtract(resident, ordering: .relaxed)
        counters.compressedFolios.wrappingSubtract(1, ordering: .relaxed)
        counters.compressionSavedBytes.wrappingSubtract(folio.byteCount - resident, ordering: .relaxed)
    }
}

extension CachedFile {
    /// Decompresses a compressed folio (pinned by the caller) in place, under
    /// the locks a fill of its range takes: the invalidate lock shared, its
    /// whole range exclusive, its lock. Makes room for the bytes it adds
    /// first (holding no lock). A block whose checksum or decompression
    /// fails is dropped with its folio (it was clean) and counted; the
    /// caller's retry then reads the page from the file. The folio leaves
    /// the tier and joins the policy as a miss's folio does, with `hint` if
    /// the caller's `prepareInsert` was for this folio's own key.
    func decompress(_ folio: Folio, hint: InsertionHint? = nil) {
        guard let peek = mapping.compressedBlocks.withLock({ $0[folio.index.rawValue] }) else { return }
        let keep = cache.configuration.compression.keepCompressedCopy
        cache.makeRoom(for: keep ? folio.byteCount : folio.byteCount - peek.residentBytes)
        strategy.lockInvalidate(.shared, in: mapping.pageLock)
        defer { strategy.unlockInvalidate(.shared, in: mapping.pageLock) }
        let pagesGuard = strategy.lockPages(folio.pages, .exclusive, in: mapping.pageLock)
        defer { strategy.unlockPages(pagesGuard, in: mapping.pageLock) }
        strategy.lockFolio(folio)
        defer { strategy.unlockFolio(folio) }
        // Recheck under the locks: decompressed, evicted or truncated meanwhile.
        let state = folio.flags
        guard state.contains(.compressed), !state.contains(.detached),
              let block = mapping.compressedBlocks.withLock({ $0[folio.index.rawValue] })
        else { return }
        let buffer = cache.pool.takeBuffer(order: folio.order)
        do throws(CompressionError) {
            try block.decompress(into: UnsafeMutableRawBufferPointer(start: buffer, count: folio.byteCount))
        } catch {
            cache.pool.putBuffer(buffer, order: folio.order)
            cache.counters.checksumFailures.wrappingAdd(1, ordering: .relaxed)
            removeLocked(folio)
            return
        }
        if !keep { mapping.compressedBlocks.withLock { _ = $0.removeValue(forKey: folio.index.rawValue) } }
        cache.tier.remove(folio, bytes: block.residentBytes)
        // Kept, the block stays charged beside the bytes (logical = the
        // folio's size; resident = bytes + block).
        let added = keep ? folio.byteCount : folio.byteCount - block.residentBytes
        let resident = cache.residentBytes.wrappingAdd(added, ordering: .relaxed).newValue
        cache.counters.peakResidentBytes.max(resident, ordering: .relaxed)
        cache.counters.compressedFolios.wrappingSubtract(1, ordering: .relaxed)
        cache.counters.compressionSavedBytes.wrappingSubtract(added, ordering: .relaxed)
        cache.counters.decompressions.wrappingAdd(1, ordering: .relaxed)
        folio.data = buffer
        folio.setFlags(keep ? [.uptodate, .compressedCopy] : .uptodate)
        // Last: lookups may pin it again (the release publishes the buffer).
        folio.clearFlags(.compressed)
        cache.policy.insert(folio, hint: hint ?? cache.policy.prepareInsert(file: mapping.id, index: folio.index, order: folio.order))
    }
}
