import FolioLocks

/// The memory a cache spends on describing its data rather than holding it
/// (`CacheStatistics.metadataBytes`): folio headers, page-table slots and the
/// index of compressed blocks. Not charged to the budget (the policy's own
/// memory, S3-FIFO's ghost, is: `evictionOverheadBytes`).
extension PageCache {
    /// A folio header as glibc holds it: the 72-byte instance (object header
    /// 16 + stored properties 56; `FolioLayoutTests`) in a chunk of 72
    /// usable bytes plus the 8-byte size word — the chunk a 64-byte instance
    /// took too.
    static var folioHeaderChunkBytes: Int { 80 }

    /// Headers ever made (type-stable: they stay, free or not) with their
    /// pool entries, every open file's page table and compressed-block index.
    var metadataBytes: Int {
        var bytes = pool.headerCount * (Self.folioHeaderChunkBytes + MemoryLayout<Folio>.size)
        for mapping in openFiles.current() {
            bytes += mapping.table.memoryBytes
            // A Dictionary bucket per block: key, value, about a bit of
            // occupancy, at the dictionary's own load factor.
            bytes += mapping.compressedBlocks.withLock { $0.capacity } * (MemoryLayout<UInt64>.size + MemoryLayout<CompressedBlock>.size)
        }
        return bytes
    }
}

extension PageTable {
    /// The table's memory: its shard words and every slot array, retired
    /// ones included (a snapshot; takes each shard lock in turn).
    var memoryBytes: Int {
        var bytes = PageTable.shardCount * ShardHandle.wordCount * 8
        for n in 0..<PageTable.shardCount {
            let shard = shard(number: n)
            shard.mutex.lock()
            if let array = shard.slotArray { bytes += (SlotArray.headerWords + 2 * array.capacity) * 8 }
            var retired = shard.retiredHead
            while let r = retired {
                bytes += (SlotArray.headerWords + 2 * r.capacity) * 8
                retired = r.nextRetired
            }
            shard.mutex.unlock()
        }
        return bytes
    }
}

extension FolioPool {
    /// Headers made so far.
    var headerCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return all.count
    }
}
