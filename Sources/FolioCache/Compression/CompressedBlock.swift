import CLZ4
import CXXHash
#if canImport(Glibc)
import Glibc
#endif

/// A folio's bytes, LZ4-compressed and checksummed: what the engine keeps in
/// place of a cold, clean folio when that saves enough memory.
///
/// ```swift
/// if let block = CompressedBlock.compress(folioBytes, minimumSaving: 0.25) {
///     // keep `block`, charge `block.residentBytes`, free the folio's buffer
/// }
/// try block.decompress(into: freshBuffer)   // exactly block.uncompressedCount bytes
/// ```
///
/// **One allocation.** A block is a single heap object: the Swift object
/// header, a 20-byte header (checksum, sizes) and the compressed bytes right
/// after it (a `ManagedBuffer`), sized to the compressed bytes after
/// compression. No raw pages, no frame format:
///
/// | bytes | what |
/// |---|---|
/// | 16 | Swift object header (isa, reference counts) |
/// | 8 | XXH3-64 of the compressed bytes |
/// | 4 + 4 + 4 | compressed size, uncompressed size, resident bytes |
/// | n | the LZ4 block (`LZ4_compress_default`), no frame header |
/// | 8 + 0–15 | malloc's chunk word and its rounding to 16 bytes |
///
/// **`residentBytes` is what the budget charges**: the malloc chunk the
/// allocation takes — object header and this header included, so 44 bytes
/// of fixed overhead plus rounding. It is computed from the request with
/// glibc's arithmetic (`mallocChunkBytes`), not asked of malloc afterwards:
/// glibc mmaps large requests or not depending on its history (its mmap
/// threshold moves), so a measured size would differ from run to run, and
/// with it the decision to keep a block. Chunks of 128 KiB and more are
/// charged whole pages, as if mmap'd; when glibc serves one from its heap
/// instead, the charge is up to a page (≤ 3 %) high. The other way, glibc
/// may hand out a free chunk up to 16 bytes larger than asked (it does not
/// split off less than its 32-byte minimum chunk), which is not counted.
/// CompressedBlockTests checks both bounds against `malloc_usable_size`.
/// It does not include whatever refers to the block (the engine's folio
/// header, page-table slots): those are the engine's to count.
///
/// **Kept only if it pays.** `compress` returns nil unless `residentBytes`
/// (not just the LZ4 output) saves at least `minimumSaving` of the source
/// (`maximumResidentBytes`), decided before anything is allocated and the
/// same on every run for the same bytes. LZ4 is told the most it may write,
/// so incompressible data stops early instead of producing a block that
/// would be thrown away. There is no "stored raw" fallback: a folio that
/// does not compress stays an ordinary folio.
///
/// **The checksum is verified before every decompression** (design:
/// "Large folios and compression"). XXH3-64 (system libxxhash) over the
/// compressed bytes, compared before LZ4 reads them, so a corrupted block is
/// reported as `CompressionError.checksumMismatch` and never expands into
/// the destination. LZ4's own frame format with its XXH32 block checksum was
/// the alternative: 14 % slower to decompress 64 KiB of text (XXH32 runs at
/// ~6 GB/s, XXH3 at ~50), unable to stop early on incompressible data, in
/// need of a per-thread decompression context, and no smaller (its 19 bytes
/// of framing against the 8-byte checksum here); its content checksum is
/// checked only after decompressing (docs/performance.md, "Compressed
/// blocks").
///
/// **Costs** (64 KiB of English text, release, this 2-core VM;
/// docs/performance.md): compress 55 µs, 1.2 GB/s — bare
/// `LZ4_compress_default` is 52 µs; the rest is the XXH3 pass and the copy
/// out of the per-thread scratch buffer. Decompress 15.7 µs, 4.2 GB/s — bare
/// `LZ4_decompress_safe` is 14.3 µs; the rest is reading the compressed
/// bytes once more for the checksum. Random data is refused in 2.8 µs.
///
/// **Thread safety.** Immutable once `compress` returns: any number of
/// threads may decompress one block at once. (The testing hooks mutate and
/// are not for shared blocks.) Compression uses the calling thread's scratch
/// buffer (`CompressionScratch`): no locks, at most 256 KiB kept per thread
/// that ever compressed.
@_spi(FolioInternals) public struct CompressedBlock: @unchecked Sendable {
    // @unchecked Sendable: `storage` (a ManagedBuffer, which is explicitly
    // not Sendable) is written only in `Storage.make`, before the block is
    // returned; afterwards it is only read. (The `…ForTesting` hooks write,
    // on a block the test owns.)
    private let storage: Storage

    private init(_ storage: Storage) { self.storage = storage }

    /// The bytes a block takes besides its compressed bytes and malloc's
    /// rounding: object header + `Header` + malloc's chunk word (44 on
    /// x86-64).
    package static var fixedOverheadBytes: Int { Storage.elementsOffset + mallocChunkWordBytes }

    /// glibc's per-chunk size word, outside the usable bytes.
    static let mallocChunkWordBytes = 8

    /// glibc's default `M_MMAP_THRESHOLD`: a chunk this large (the request
    /// with its size word, rounded) may be mmap'd — whole pages — rather
    /// than carved from the heap.
    static let mallocMmapThreshold = 128 << 10

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// The bytes glibc's malloc takes for a request of `request` bytes: a
    /// heap chunk is the request plus its 8-byte size word rounded up to 16
    /// (at least 32; a reused free chunk may be 16 more); a chunk of
    /// `mallocMmapThreshold` or more is charged as an mmap'd one, whole
    /// pages, which is at least the heap chunk, whichever glibc picks.
    package static func mallocChunkBytes(forRequest request: Int) -> Int {
        let heapChunk = max(32, (request + mallocChunkWordBytes + 15) & ~15)
        guard heapChunk >= mallocMmapThreshold else { return heapChunk }
        // sysmalloc: the heap chunk's size plus one more word, in pages.
        return (heapChunk + mallocChunkWordBytes + pageSize - 1) / pageSize * pageSize
    }

    /// What a block of `compressedCount` LZ4 bytes is charged.
    package static func residentBytes(compressedCount: Int) -> Int {
        mallocChunkBytes(forRequest: Storage.elementsOffset + compressedCount)
    }

    /// The most resident bytes a block of `uncompressedCount` bytes may take
    /// and still save `minimumSaving` of them: ⌊count × (1 − minimumSaving)⌋.
    package static func maximumResidentBytes(uncompressedCount: Int, minimumSaving: Double) -> Int {
        Int((Double(uncompressedCount) * (1 - minimumSaving)).rounded(.down))
    }

    /// Compresses `source` (1 byte up to `LZ4Block.maxInputSize`; a folio is
    /// 512 B – 2 MiB) into a new block, or returns nil if the block's
    /// `residentBytes` would not save at least `minimumSaving` (0 ≤ x < 1) of
    /// `source.count` — always for random data, and for an empty source.
    ///
    /// Safe to call from any number of threads at once; `source` must not
    /// change during the call.
    public static func compress(_ source: UnsafeRawBufferPointer, minimumSaving: Double) -> CompressedBlock? {
        precondition(minimumSaving >= 0 && minimumSaving < 1,
                     "CompressedBlock.compress: minimumSaving \(minimumSaving) is not in 0..<1")
        let count = source.count
        guard count > 0, count <= LZ4Block.maxInputSize, let src = source.baseAddress else { return nil }
        let allowedResident = maximumResidentBytes(uncompressedCount: count, minimumSaving: minimumSaving)
        // LZ4 may write no more than the allocation could hold: more would
        // already miss the saving. The rounding malloc adds is checked after.
        let allowedCompressed = allowedResident - fixedOverheadBytes
        guard allowedCompressed > 0 else { return nil }
        return CompressionScratch.withBuffer(byteCount: allowedCompressed) { scratch in
            let n = Int(LZ4_compress_default(
                src.assumingMemoryBound(to: CChar.self), scratch.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(count), Int32(allowedCompressed)))
            guard n > 0 else { return nil }  // 0: did not fit in allowedCompressed
            let resident = residentBytes(compressedCount: n)
            guard resident <= allowedResident else { return nil }  // malloc's rounding tipped it
            let bytes = UnsafeRawBufferPointer(rebasing: scratch[..<n])
            return CompressedBlock(Storage.make(copying: bytes, uncompressedCount: count, residentBytes: resident))
        }
    }

    /// What the budget charges for this block: its allocation, metadata
    /// included (see the type's documentation).
    public var residentBytes: Int { Int(storage.header.residentBytes) }

    /// The size of the folio this block holds (what `decompress` writes).
    public var uncompressedCount: Int { Int(storage.header.uncompressedCount) }

    /// The size of the LZ4 block alone.
    public var compressedCount: Int { Int(storage.header.compressedCount) }

    /// Writes the block's original bytes into `destination`, which must be
    /// exactly `uncompressedCount` bytes.
    ///
    /// First the size (`.sizeMismatch`), then XXH3-64 over the compressed
    /// bytes against the stored checksum (`.checksumMismatch`) — both before a
    /// byte of `destination` is written — then `LZ4_decompress_safe`, which
    /// never reads or writes out of bounds and must produce exactly
    /// `uncompressedCount` bytes (`.corrupt`; the destination then holds
    /// garbage). Safe to call from any number of threads on one block.
    public func decompress(into destination: UnsafeMutableRawBufferPointer) throws(CompressionError) {
        let header = storage.header
        let expected = Int(header.uncompressedCount)
        guard destination.count == expected, let dst = destination.baseAddress else {
            throw .sizeMismatch(expected: expected, actual: destination.count)
        }
        let result: CompressionError? = storage.withUnsafeMutablePointerToElements { bytes in
            let count = Int(header.compressedCount)
            guard XXH3_64bits(bytes, count) == header.checksum else { return .checksumMismatch }
            let n = LZ4_decompress_safe(
                UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
                Int32(count), Int32(expected))
            return n == Int32(expected) ? nil : .corrupt
        }
        if let result { throw result }
    }
}

// MARK: - Storage

extension CompressedBlock {
    /// The block's header, stored in the same allocation as the bytes.
    fileprivate struct Header {
        /// XXH3-64 of the `compressedCount` bytes after the header.
        var checksum: UInt64
        var compressedCount: UInt32
        var uncompressedCount: UInt32
        /// `CompressedBlock.residentBytes(compressedCount:)`, kept (≤ the
        /// uncompressed size, so 32 bits hold it).
        var residentBytes: UInt32
    }

    /// The allocation: object header, `Header`, then the compressed bytes.
    fileprivate final class Storage: ManagedBuffer<Header, UInt8> {
        /// Where the bytes start, from the object's address (36 on x86-64:
        /// 16-byte object header + 20-byte `Header`, byte-aligned).
        static let elementsOffset: Int = {
            let probe = Storage.create(minimumCapacity: 1) { _ in Header(checksum: 0, compressedCount: 0, uncompressedCount: 0, residentBytes: 0) }
            return offsetOfElements(probe)
        }()

        static func offsetOfElements(_ object: ManagedBuffer<Header, UInt8>) -> Int {
            let base = UnsafeRawPointer(Unmanaged.passUnretained(object).toOpaque())
            return base.distance(to: UnsafeRawPointer(object.withUnsafeMutablePointerToElements { $0 }))
        }

        /// A new block holding a copy of `bytes`, its checksum and sizes.
        static func make(copying bytes: UnsafeRawBufferPointer, uncompressedCount: Int, residentBytes: Int) -> Storage {
            let object = Storage.create(minimumCapacity: bytes.count) { buffer in
                let elements = buffer.withUnsafeMutablePointerToElements { $0 }
                UnsafeMutableRawPointer(elements).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                return Header(checksum: XXH3_64bits(elements, bytes.count),
                              compressedCount: UInt32(bytes.count),
                              uncompressedCount: UInt32(uncompressedCount),
                              residentBytes: UInt32(residentBytes))
            }
            assert(offsetOfElements(object) == elementsOffset, "CompressedBlock: the elements moved")
            return unsafeDowncast(object, to: Storage.self)
        }
    }
}

// MARK: - Testing hooks

extension CompressedBlock {
    /// The bytes of the stored checksum, addressable by
    /// `corruptByteForTesting` after the compressed bytes.
    package static let checksumByteCount = 8

    /// Flips every bit of one stored byte: offsets `0..<compressedCount` are
    /// the compressed bytes, `compressedCount..<compressedCount + 8` the
    /// stored checksum (little-endian). So an engine test can check that a
    /// corrupt block is detected. Not thread-safe: the caller must own the
    /// block (no other thread decompressing it).
    package func corruptByteForTesting(at offset: Int) {
        let count = compressedCount
        precondition(offset >= 0 && offset < count + Self.checksumByteCount,
                     "CompressedBlock.corruptByteForTesting: offset \(offset) outside 0..<\(count + Self.checksumByteCount)")
        if offset < count {
            storage.withUnsafeMutablePointerToElements { $0[offset] ^= 0xFF }
        } else {
            storage.header.checksum ^= UInt64(0xFF) << (8 * UInt64(offset - count))
        }
    }

    /// A block holding `bytes` as if they were LZ4 output, with a checksum
    /// that matches them: for feeding garbage or truncated blocks past the
    /// checksum to LZ4's bounds checks.
    package init(compressedBytesForTesting bytes: [UInt8], uncompressedCount: Int) {
        precondition(!bytes.isEmpty && uncompressedCount > 0 && uncompressedCount <= LZ4Block.maxInputSize)
        storage = bytes.withUnsafeBytes {
            Storage.make(copying: $0, uncompressedCount: uncompressedCount, residentBytes: Self.residentBytes(compressedCount: $0.count))
        }
    }

    /// What malloc reports for the block's allocation: `malloc_usable_size`
    /// (through `ManagedBuffer.capacity`) plus its chunk word — to check
    /// that `residentBytes` never under-counts.
    package var mallocReportedBytesForTesting: Int {
        Storage.elementsOffset + storage.capacity + Self.mallocChunkWordBytes
    }

    /// A copy of the compressed bytes.
    package var compressedBytesForTesting: [UInt8] {
        storage.withUnsafeMutablePointerToElements { Array(UnsafeBufferPointer(start: $0, count: compressedCount)) }
    }
}
