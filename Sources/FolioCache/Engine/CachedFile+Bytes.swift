/// Bytes in and out as the collections Swift code has at hand. Every
/// conveniences here runs the one engine entry point of its direction —
/// `write(_: UnsafeRawBufferPointer, at:)` and
/// `read(into: UnsafeMutableRawBufferPointer, at:)` — on the collection's own
/// storage when it is contiguous (`[UInt8]`, `ArraySlice<UInt8>`,
/// `ContiguousArray<UInt8>`, `Data`, `UnsafeRawBufferPointer`, …), so they
/// cost what those cost (docs/performance.md, "Generic byte entry points");
/// a collection without contiguous storage is copied once.
///
/// Overloads are chosen without ambiguity: the concrete
/// `UnsafeRawBufferPointer` and `[UInt8]` forms are requirements of
/// `CachedFileProtocol` and win over the generic ones for those types; any
/// other `Collection` of `UInt8` takes the generic form. (A value that is
/// only Foundation's `ContiguousBytes`, not a collection, is written with
/// `bytes.withUnsafeBytes { try file.write($0, at: offset) }`.)
extension CachedFileProtocol {
    /// Writes all of `bytes` at `offset` (see `CachedFile.write(_:at:)`).
    @inlinable
    public func write<Bytes: Collection>(_ bytes: Bytes, at offset: Int64) throws(FolioError) where Bytes.Element == UInt8 {
        let done: Result<Void, FolioError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(FolioError) in try write(UnsafeRawBufferPointer(buffer), at: offset) }
        }
        if let done { return try done.get() }
        try write(Array(bytes), at: offset)
    }

    /// Reads up to `buffer.count` bytes at `offset` into `buffer`, from its
    /// start; returns how many were read (fewer only at end of file, 0 at or
    /// past it). Bytes of `buffer` past that are left as they were.
    @inlinable
    public func read<Buffer: MutableCollection>(into buffer: inout Buffer, at offset: Int64) throws(FolioError) -> Int where Buffer.Element == UInt8 {
        let done: Result<Int, FolioError>? = buffer.withContiguousMutableStorageIfAvailable { storage in
            Result { () throws(FolioError) -> Int in try read(into: UnsafeMutableRawBufferPointer(storage), at: offset) }
        }
        if let done { return try done.get() }
        // No contiguous storage (`Data` offers none mutably): read into a
        // scratch buffer, then copy.
        let bytes = try read(count: buffer.count, at: offset)
        var i = buffer.startIndex
        for byte in bytes {
            buffer[i] = byte
            buffer.formIndex(after: &i)
        }
        return bytes.count
    }

    /// Up to `count` bytes at `offset` as a new collection of `type`
    /// (`[UInt8]`, `ContiguousArray<UInt8>`, `Data`, …): fewer at end of
    /// file, none at or past it; sized by the file, not by `count` (see
    /// `CachedFile.read(count:at:)`).
    @inlinable
    public func read<Bytes: RangeReplaceableCollection & MutableCollection>(count: Int, at offset: Int64, as type: Bytes.Type) throws(FolioError) -> Bytes where Bytes.Element == UInt8 {
        if Bytes.self == [UInt8].self, let bytes = try read(count: count, at: offset) as? Bytes { return bytes }
        // Bad arguments: the array form throws the error.
        guard offset >= 0, count >= 0 else { _ = try read(count: count, at: offset); return Bytes() }
        let available = max(0, try size() - offset)
        var out = Bytes(repeating: 0, count: Int(min(Int64(count), available)))
        if let done = out.withContiguousMutableStorageIfAvailable({ storage in
            Result { () throws(FolioError) -> Int in try read(into: UnsafeMutableRawBufferPointer(storage), at: offset) }
        }) {
            out.removeSubrange(out.index(out.startIndex, offsetBy: try done.get())...)
            return out
        }
        // No contiguous mutable storage (`Data`): read into a scratch
        // buffer and append it (one memcpy).
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: out.count, alignment: 16)
        defer { scratch.deallocate() }
        let n = try read(into: scratch, at: offset)
        var result = Bytes()
        result.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[..<n]))
        return result
    }
}
