import CLZ4

/// Errors of the LZ4 block codec.
public enum LZ4Error: Error, Equatable, CustomStringConvertible {
    /// The input is larger than LZ4 can take in one block (about 2 GiB).
    case inputTooLarge(Int)
    /// The compressed block is corrupt, or does not decompress to exactly the
    /// expected size.
    case corrupt(expectedSize: Int)
    /// The destination buffer is smaller than the result.
    case destinationTooSmall(needed: Int, available: Int)

    /// A one-line message with the sizes involved.
    public var description: String {
        switch self {
        case .inputTooLarge(let n): "LZ4: input of \(n) bytes exceeds the block limit of \(LZ4Block.maxInputSize) bytes"
        case .corrupt(let n): "LZ4: corrupt compressed block (expected to decompress to \(n) bytes)"
        case .destinationTooSmall(let needed, let available): "LZ4: destination holds \(available) bytes, needs \(needed)"
        }
    }
}

/// LZ4 block compression of whole buffers, over the system liblz4.
///
/// Blocks carry no header: the caller stores the uncompressed size (a folio
/// knows it) and checksums the compressed bytes. `decompress` never writes out
/// of bounds and reports any corrupt input as `LZ4Error.corrupt`.
public enum LZ4Block {
    /// The largest input one block can hold (`LZ4_MAX_INPUT_SIZE`).
    public static let maxInputSize = 0x7E00_0000

    /// The worst-case compressed size of `inputSize` bytes (slightly larger
    /// than the input for incompressible data).
    public static func bound(_ inputSize: Int) throws(LZ4Error) -> Int {
        guard inputSize >= 0, inputSize <= maxInputSize else { throw .inputTooLarge(inputSize) }
        return Int(LZ4_compressBound(Int32(inputSize)))
    }

    /// Compresses `source` into `destination`; returns the compressed size, or
    /// nil if it does not fit (give `bound(source.count)` bytes to always fit).
    public static func compress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(LZ4Error) -> Int? {
        guard source.count <= maxInputSize else { throw .inputTooLarge(source.count) }
        guard let dst = destination.baseAddress, destination.count > 0 else { return nil }
        if source.isEmpty { return nil }
        guard let src = source.baseAddress else { return nil }
        let n = LZ4_compress_default(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(clamping: destination.count))
        return n > 0 ? Int(n) : nil
    }

    /// Decompresses a block that must expand to exactly `destination.count`
    /// bytes.
    public static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(LZ4Error) {
        let expected = destination.count
        guard let src = source.baseAddress, let dst = destination.baseAddress, !source.isEmpty, expected > 0,
              source.count <= maxInputSize, expected <= maxInputSize
        else { throw .corrupt(expectedSize: expected) }
        let n = LZ4_decompress_safe(
            src.assumingMemoryBound(to: CChar.self), dst.assumingMemoryBound(to: CChar.self),
            Int32(source.count), Int32(expected))
        guard n == Int32(expected) else { throw .corrupt(expectedSize: expected) }
    }

    /// Convenience: compresses a byte array (returns nil if incompressible, i.e.
    /// the result would not be smaller than the input).
    public static func compress(_ bytes: [UInt8]) throws(LZ4Error) -> [UInt8]? {
        let capacity = try bound(bytes.count)
        var out = [UInt8](repeating: 0, count: capacity)
        let result: Result<Int?, LZ4Error> = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in Result { () throws(LZ4Error) in try compress(src, into: dst) } }
        }
        let n = try result.get()
        guard let n, n < bytes.count else { return nil }
        out.removeSubrange(n...)
        return out
    }

    /// Convenience: decompresses a byte array to exactly `size` bytes.
    public static func decompress(_ bytes: [UInt8], size: Int) throws(LZ4Error) -> [UInt8] {
        guard size >= 0, size <= maxInputSize else { throw .corrupt(expectedSize: size) }
        var out = [UInt8](repeating: 0, count: size)
        let result: Result<Void, LZ4Error> = bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in Result { () throws(LZ4Error) in try decompress(src, into: dst) } }
        }
        try result.get()
        return out
    }
}
