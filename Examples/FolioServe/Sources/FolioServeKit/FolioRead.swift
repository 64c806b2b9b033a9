import FolioCache
import NIOCore

/// How a request reads its file through Folio.
public enum FolioReadMode: String, Sendable, CaseIterable {
    /// `file.async.read`: a hit copies the cached bytes in the request's
    /// task (optimistically: the page-level strategies take no lock for
    /// it), a page-lock wait suspends the task, a miss hops to Folio's I/O
    /// threads (docs/async.md).
    case read
    /// Map the file, copy through the view, unmap — per request, as the
    /// seed's Apache did with small files (mmap, fault, copy): every request
    /// runs the fault path, which takes the page lock (lookup, lock, recheck,
    /// unlock), so the lock strategy's fairness is on the request path.
    /// Synchronous: `view.async` prefaults on the I/O threads (a hop per
    /// request) and copies through `read`, not the fault path; a fault on a
    /// cached page holds the page lock for a lookup and a recheck.
    case view
}

/// A whole file read through Folio into a new buffer.
enum FolioRead {
    static func whole<S: LockStrategy>(_ file: CachedFile<S>, size: Int, mode: FolioReadMode, allocator: ByteBufferAllocator) async throws -> ByteBuffer {
        var buffer = allocator.buffer(capacity: size)
        guard size > 0 else { return buffer }
        switch mode {
        case .read:
            // Into an array, then the buffer: ByteBuffer's storage is only
            // reachable from a synchronous closure (one extra 4 KiB-scale copy).
            buffer.writeBytes(try await file.async.read(count: size, at: 0))
        case .view:
            let view = try file.map(0..<Int64(size), mode: .readOnly, faultAround: nil)
            defer { view.unmap() }
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                try view.copyBytes(at: 0, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<size]))
                return size
            }
        }
        return buffer
    }
}
