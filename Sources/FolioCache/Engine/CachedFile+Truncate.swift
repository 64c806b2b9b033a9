import FolioLocks
import Synchronization

extension CachedFile {
    /// Sets the file's size. Shrinking drops cached pages past the new end
    /// (dirty ones are discarded, as truncation means) and zeroes the tail of
    /// the folio that contains it; growing makes the new range read as zeros.
    /// The backing file is resized before the cache changes, so a failure
    /// leaves both as they were.
    public func truncate(to newSize: Int64) throws(FolioError) {
        guard newSize >= 0 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is negative") }
        guard newSize <= Int64.max >> 1 else { throw .invalidArgument("truncate of '\(path)': size \(newSize) is too large") }
        try checkOpen()
        try withTailLocked(from: pageIndex(of: newSize)) { () throws(FolioError) in
            try checkOpen()
            try mapping.backend.truncate(to: newSize)
            dropCachedPages(pastEOF: newSize)
            mapping.size.store(newSize, ordering: .releasing)
        }
    }

    /// With the tail locked: removes folios wholly past `eof`, zeroes the part
    /// past `eof` of the folio containing it (cached bytes past EOF are always
    /// zero, which is what makes a later grow read zeros).
    func dropCachedPages(pastEOF eof: Int64) {
        for folio in mapping.table.pinnedFolios(from: pageIndex(of: eof)) {
            defer { folio.unpin() }
            let keep = mapping.bytesBelow(eof, in: folio)
            if keep == 0 {
                removeLocked(folio)
            } else if let data = folio.data, keep < folio.byteCount {
                (data + keep).initializeMemory(as: UInt8.self, repeating: 0, count: folio.byteCount - keep)
            }
        }
    }
}
