import FolioLocks

/// The accessors of a view. Offsets are `Int64` bytes from the start of the
/// view (as every file offset in Folio), counts `Int`; both must be
/// non-negative and lie inside the view, else `FolioError.invalidArgument`.
///
/// Each closure accessor comes twice: with a closure that throws nothing or
/// `FolioError` (the accessor then throws `FolioError`, typed), and with a
/// closure that throws anything (the accessor then throws `any Error`: the
/// closure's error as thrown, or a `FolioError`). A closure literal that
/// throws an error of its own, or calls a throwing function without a typed
/// `throws(FolioError)` annotation, picks the second.
extension FileView {
    // MARK: Reads

    /// Runs `body` on `count` bytes at `offset`: in place, with the folio
    /// pinned, when they lie inside one folio; otherwise on a copy.
    @inlinable
    public func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R {
        do { return try readBytes(at: offset, count: count, body) } catch { throw error.flattened }
    }

    /// `withUnsafeBytes(at:count:_:)` with a closure that may throw any
    /// error; a closure's error is rethrown as it is.
    @inlinable
    public func withUnsafeBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        do { return try readBytes(at: offset, count: count, body) } catch { throw error.erased }
    }

    /// The core of the read accessors.
    @inlinable
    func readBytes<R, E: Error>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(ViewAccessFailure<E>) -> R {
        let start = try ViewAccessFailure<E>.folio { () throws(FolioError) in try checkAccess("read", offset: offset, count: count, write: false) }
        defer { file.cache.reclaimIfNeeded() }  // a fault may have filled a page; after the unpin below
        func run(_ bytes: UnsafeRawBufferPointer) throws(ViewAccessFailure<E>) -> R {
            do { return try body(bytes) } catch { throw .body(error) }
        }
        guard count > 0 else { return try run(UnsafeRawBufferPointer(start: nil, count: 0)) }
        let index = file.pageIndex(of: start)
        let last = file.pageIndex(of: start + Int64(count - 1))
        if index == last || file.mapping.maxFolioOrder > 0 {
            let folio = try ViewAccessFailure<E>.folio { () throws(FolioError) in try pin(index) }
            defer { folio._withUnsafeGuaranteedRef { $0.unpinMapped() } }
            // In place when the bytes lie inside the folio: one page, or any
            // part of a large folio (up to 64 KiB and more without a copy).
            if folio._withUnsafeGuaranteedRef({ $0.contains(last) }) {
                try ViewAccessFailure<E>.folio { () throws(FolioError) in try checkEOF(start, count) }
                let inPage = Int(start & Int64(file.pageSize - 1))
                let bytes = folio._withUnsafeGuaranteedRef { f in
                    UnsafeRawBufferPointer(start: f.bytes(of: index).map { $0 + inPage }, count: count)
                }
                return try run(bytes)
            }
        }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { copy.deallocate() }
        try ViewAccessFailure<E>.folio { () throws(FolioError) in try copyPages(from: start, into: copy) }
        return try run(UnsafeRawBufferPointer(copy))
    }

    /// Copies `buffer.count` bytes at `offset` into `buffer`.
    @inlinable
    public func copyBytes(at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws(FolioError) {
        let start = try checkAccess("read", offset: offset, count: buffer.count, write: false)
        defer { file.cache.reclaimIfNeeded() }
        try copyPages(from: start, into: buffer)
    }

    /// `count` bytes at `offset`.
    public func copyBytes(at offset: Int64, count: Int) throws(FolioError) -> [UInt8] {
        let start = try checkAccess("read", offset: offset, count: count, write: false)
        defer { file.cache.reclaimIfNeeded() }
        var out = [UInt8](repeating: 0, count: count)
        let result: Result<Void, FolioError> = out.withUnsafeMutableBytes { buf in
            Result { () throws(FolioError) in try copyPages(from: start, into: buf) }
        }
        try result.get()
        return out
    }

    /// A value of a trivial type at `offset` (any alignment).
    @inlinable
    public func load<T: BitwiseCopyable>(at offset: Int64, as type: T.Type) throws(FolioError) -> T {
        try withUnsafeBytes(at: offset, count: MemoryLayout<T>.size) { $0.loadUnaligned(as: T.self) }
    }

    // MARK: Writes

    /// Runs `body` on `count` bytes at `offset` to change them: in place, with
    /// the folio pinned, when they lie inside one folio, otherwise on a copy
    /// that is stored back page by page. The pages become dirty. If `body`
    /// throws, what it changed before is kept (in place as on a copy, which
    /// is then stored back) and its error is rethrown.
    ///
    /// In place, `body` runs with the page **locked** (its folio lock and page
    /// range; per-inode, the file's lock): it must not use the cache. A read or
    /// write that fills a page would take an invalidate lock under a folio lock,
    /// against the lock order (docs/locking.md), and per-inode any access to
    /// the same file waits for itself. The `DebugLocks` checker reports both.
    @inlinable
    public func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(FolioError) -> R) throws(FolioError) -> R {
        do { return try changeBytes(at: offset, count: count, body) } catch { throw error.flattened }
    }

    /// `withUnsafeMutableBytes(at:count:_:)` with a closure that may throw
    /// any error; a closure's error is rethrown as it is.
    @inlinable
    public func withUnsafeMutableBytes<R>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        do { return try changeBytes(at: offset, count: count, body) } catch { throw error.erased }
    }

    /// The core of the write accessors.
    @inlinable
    func changeBytes<R, E: Error>(at offset: Int64, count: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(ViewAccessFailure<E>) -> R {
        let start = try ViewAccessFailure<E>.folio { () throws(FolioError) in try checkAccess("write", offset: offset, count: count, write: true) }
        defer { file.cache.reclaimIfNeeded() }
        guard count > 0 else {
            do { return try body(UnsafeMutableRawBufferPointer(start: nil, count: 0)) } catch { throw .body(error) }
        }
        try ViewAccessFailure<E>.folio { () throws(FolioError) in try checkEOF(start, count) }  // all or nothing (barring a racing truncate)
        let index = file.pageIndex(of: start)
        if index == file.pageIndex(of: start + Int64(count - 1)) {
            let inPage = Int(start & Int64(file.pageSize - 1))
            return try withPageLockedForWrite(index, start, count) { (f) throws(E) -> R in
                try body(UnsafeMutableRawBufferPointer(start: f.bytes(of: index).map { $0 + inPage }, count: count))
            }
        }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        defer { copy.deallocate() }
        try ViewAccessFailure<E>.folio { () throws(FolioError) in try copyPages(from: start, into: copy) }
        let result = Result { () throws(E) -> R in try body(copy) }
        try ViewAccessFailure<E>.folio { () throws(FolioError) in try storePages(UnsafeRawBufferPointer(copy), at: start) }
        do { return try result.get() } catch { throw .body(error) }
    }

    /// Stores `bytes` at `offset`.
    @inlinable
    public func store(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        let start = try checkAccess("write", offset: offset, count: bytes.count, write: true)
        try checkEOF(start, bytes.count)  // all or nothing (barring a racing truncate)
        defer { file.cache.reclaimIfNeeded() }
        try storePages(bytes, at: start)
    }

    /// Stores `bytes` at `offset`.
    public func store(_ bytes: [UInt8], at offset: Int64) throws(FolioError) {
        let result: Result<Void, FolioError> = bytes.withUnsafeBytes { buf in
            Result { () throws(FolioError) in try store(buf, at: offset) }
        }
        try result.get()
    }
}
