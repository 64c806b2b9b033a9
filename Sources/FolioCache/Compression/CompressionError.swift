/// Why a `CompressedBlock` could not be decompressed.
///
/// A compressed block lives in memory only — it is a clean, cold folio whose
/// bytes are also on disk — so every one of these means the same thing to the
/// engine: drop the block and read the pages again from the backend. The
/// cases say which check caught it, for the statistics and for a message.
@_spi(FolioInternals) public enum CompressionError: Error, Equatable, CustomStringConvertible {
    /// The XXH3-64 of the compressed bytes is not the one stored when the
    /// block was made: memory was overwritten (a stray write, a bit flip).
    /// Detected before LZ4 reads a byte, so nothing was written to the
    /// destination.
    case checksumMismatch
    /// The checksum matched but LZ4 rejected the bytes, or they did not
    /// expand to exactly the block's size. Means a bug, not bad memory (the
    /// checksum vouches for the bytes); the destination may hold garbage.
    case corrupt
    /// The destination is not the block's uncompressed size (a caller error:
    /// the folio's geometry and the block disagree). Nothing was written.
    case sizeMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .checksumMismatch:
            "compressed block: checksum mismatch (the compressed bytes changed since they were stored)"
        case .corrupt:
            "compressed block: LZ4 rejected the bytes, or they did not expand to the block's size"
        case .sizeMismatch(let expected, let actual):
            "compressed block: expands to \(expected) bytes, destination holds \(actual)"
        }
    }
}
