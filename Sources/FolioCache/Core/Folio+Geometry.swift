import Synchronization

/// Folio geometry: which pages a folio covers and where each page's bytes
/// lie in its buffer. Every offset computation of the engine goes through
/// these, so that a folio larger than a page is handled the same way
/// everywhere. Order and page shift live in the state word and are constant
/// while the folio is in use (pinned), so these are stable for a pinner.
extension Folio {
    /// log2 of the number of pages.
    @inlinable @inline(__always) package var order: UInt8 { UInt8(truncatingIfNeeded: state.load(ordering: .relaxed) >> 8) }

    /// log2 of the page size in bytes.
    @inlinable @inline(__always) package var pageShift: Int { Int(truncatingIfNeeded: (state.load(ordering: .relaxed) >> 24) & 0x1F) }

    /// Number of pages (`2^order`).
    @inlinable @inline(__always) package var pageCount: Int { 1 << Int(order) }

    /// Bytes of data (`pageCount × page size`).
    @inlinable @inline(__always) package var byteCount: Int {
        let s = state.load(ordering: .relaxed)
        return 1 << (Int(truncatingIfNeeded: (s >> 24) & 0x1F) + Int(truncatingIfNeeded: (s >> 8) & 0xFF))
    }

    /// One past the last page.
    @inlinable package var endIndex: PageIndex { PageIndex(index.rawValue &+ UInt64(pageCount)) }

    /// The pages the folio covers.
    @inlinable package var pages: Range<PageIndex> { index..<endIndex }

    /// Whether page `i` lies in this folio. On the lock-free hit path (the
    /// page table's post-pin check), hence forced inline and one shift: an
    /// out-of-line call here measured 84 instructions per hit against 69.
    @inlinable @inline(__always) package func contains(_ i: PageIndex) -> Bool {
        i.rawValue &- index.rawValue < 1 &<< UInt64(order)
    }

    /// Offset of page `i`'s bytes in the folio's buffer.
    @inlinable @inline(__always) package func byteOffset(of i: PageIndex) -> Int {
        assert(contains(i), "page not in the folio")
        return Int(truncatingIfNeeded: i.rawValue &- index.rawValue) &<< pageShift
    }

    /// The bytes of page `i` (which the folio must contain), or nil for a
    /// folio without data. On every read hit and view access: forced inline
    /// (out of line, with the optional's closure, it cost ~5 ns a hit).
    @inlinable @inline(__always) package func bytes(of i: PageIndex) -> UnsafeMutableRawPointer? {
        guard let data else { return nil }
        // The first page needs no arithmetic (every page of an order-0
        // folio): the copy's source address then waits on no state load.
        return i == index ? data : data + byteOffset(of: i)
    }
}
