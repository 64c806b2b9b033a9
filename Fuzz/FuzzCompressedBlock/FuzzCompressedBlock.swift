@_spi(FolioInternals) import FolioCache
import FuzzSupport

/// libFuzzer harness for the compressed-block decoder: `LZ4Block`
/// (Sources/FolioCache/Compression/LZ4Block.swift) and `CompressedBlock`
/// (CompressedBlock.swift), fed arbitrary bytes and mutated valid blocks.
///
/// Input: one mode byte, then
/// - mode even ("decode"): a size class c and 3 bytes of value v, giving
///   the expected size 1 + v % (512 << c % 13) (up to 2 MiB, the largest
///   folio), then bytes taken as an LZ4 block;
/// - mode odd ("encode, then damage"): a repeat count (1–64), a minimum
///   saving choice, a mutation count (0–7) and that many mutations (2 bytes
///   position, 1 byte xor), a truncation byte, then plain text, repeated to
///   make the folio.
///
/// Invariants (a violation aborts, and libFuzzer keeps the input):
/// - a decode that succeeds produced exactly the declared size, and no other
///   size also succeeds (one size ± 1 fails); a failure is `.corrupt`;
/// - `LZ4Block.decompress` and `CompressedBlock.decompress` (same bytes,
///   matching checksum) agree on success and on the bytes;
/// - a destination of the wrong size gets `.sizeMismatch` and not a byte
///   written;
/// - the real encoder round-trips exactly (into `bound(n)` bytes always);
///   a `CompressedBlock` keeps only what pays (`residentBytes` within
///   `maximumResidentBytes`, its sizes consistent) and decompresses to the
///   source;
/// - any damaged byte of a block (compressed bytes or stored checksum) gives
///   `.checksumMismatch` with nothing written, and undoing it restores it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompressedBlock(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(Fuzz.bytes(data, size))
    if input.byte() % 2 == 0 {
        // Mostly small sizes (each decode fills a buffer of that size),
        // all of them reachable: 512 B << (0...12) bounds the value.
        let limit = 512 << Int(input.byte() % 13)
        let expected = 1 + input.integer(bytes: 3) % limit
        checkDecode(Array(input.rest), size: expected)
    } else {
        checkEncodeThenDamage(&input)
    }
    return 0
}

let maxFolioBytes = 2 << 20
let sentinel: UInt8 = 0xA5

/// Decompresses `block` into a fresh buffer of `count` sentinel bytes: the
/// error (nil on success) and the buffer.
func decompress(_ block: CompressedBlock, count: Int) -> (error: CompressionError?, bytes: [UInt8]) {
    var destination = [UInt8](repeating: sentinel, count: count)
    let error = destination.withUnsafeMutableBytes { buffer -> CompressionError? in
        do throws(CompressionError) {
            try block.decompress(into: buffer)
            return nil
        } catch {
            return error
        }
    }
    return (error, destination)
}

func lz4Decompress(_ bytes: [UInt8], size: Int) -> Result<[UInt8], LZ4Error> {
    Result { () throws(LZ4Error) in try LZ4Block.decompress(bytes, size: size) }
}

func checkDecode(_ bytes: [UInt8], size: Int) {
    let direct = lz4Decompress(bytes, size: size)
    switch direct {
    case .success(let out):
        Fuzz.check(out.count == size, "LZ4Block.decompress claimed \(size) bytes, returned \(out.count)")
        for other in [size - 1, size + 1] where other > 0 {
            if case .success = lz4Decompress(bytes, size: other) {
                Fuzz.check(false, "one block decompresses to both \(size) and \(other) bytes")
            }
        }
        // What decoded must survive the real encoder.
        if let packed = try? LZ4Block.compress(out) {
            Fuzz.check((try? LZ4Block.decompress(packed, size: size)) == out, "re-encoding a decoded block does not round-trip")
        }
        Fuzz.keep(Int(out.last ?? 0))
    case .failure(let error):
        Fuzz.check(error == .corrupt(expectedSize: size), "unexpected error \(error) for a \(size)-byte decode")
    }
    guard !bytes.isEmpty else { return }
    // The same bytes in a block whose checksum matches them: past the
    // checksum, straight to LZ4's bounds checks.
    let block = CompressedBlock(compressedBytesForTesting: bytes, uncompressedCount: size)
    let (result, out) = decompress(block, count: size)
    switch (direct, result) {
    case (.success(let expected), nil):
        Fuzz.check(out == expected, "CompressedBlock and LZ4Block decode the same bytes differently")
    case (.failure, let error?):
        Fuzz.check(error == .corrupt, "CompressedBlock: \(error) for bytes that pass the checksum (expected .corrupt)")
    default:
        Fuzz.check(false, "LZ4Block (\(direct.map(\.count))) and CompressedBlock (\(String(describing: result))) disagree on one block")
    }
    checkSizeMismatch(block)
}

/// A destination of the wrong size is refused before anything is written.
func checkSizeMismatch(_ block: CompressedBlock) {
    let count = block.uncompressedCount
    for wrong in [count - 1, count + 1] where wrong >= 0 {
        let (result, bytes) = decompress(block, count: wrong)
        Fuzz.check(result == .sizeMismatch(expected: count, actual: wrong),
                   "a \(wrong)-byte destination for a \(count)-byte block: \(String(describing: result))")
        Fuzz.check(bytes.allSatisfy { $0 == sentinel }, "a refused destination was written to")
    }
}

func checkEncodeThenDamage(_ input: inout FuzzReader) {
    let repeats = 1 + Int(input.byte() % 64)
    let minimumSaving = [0.0, 0.1, 0.25, 0.5, 0.9][Int(input.byte() % 5)]
    let mutations = (0..<Int(input.byte() % 8)).map { _ in
        let position = input.integer(bytes: 2), xor = input.byte()
        return (position: position, xor: xor == 0 ? 0xFF : xor)
    }
    let truncation = Int(input.byte())
    let text = Array(input.rest)
    guard !text.isEmpty else { return }
    var source: [UInt8] = []
    for _ in 0..<repeats where source.count + text.count <= maxFolioBytes { source += text }
    let count = source.count

    // The encoder, given its bound, always fits and round-trips exactly.
    let packed: [UInt8]
    do throws(LZ4Error) {
        var out = [UInt8](repeating: 0, count: try LZ4Block.bound(count))
        let result = source.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in Result { () throws(LZ4Error) in try LZ4Block.compress(src, into: dst) } }
        }
        guard let n = try result.get() else {
            Fuzz.check(false, "LZ4Block.compress of \(count) bytes did not fit in bound(\(count)) = \(out.count)")
            return
        }
        out.removeSubrange(n...)
        packed = out
    } catch {
        Fuzz.check(false, "LZ4Block.compress of \(count) bytes threw \(error)")
        return
    }
    Fuzz.check((try? LZ4Block.decompress(packed, size: count)) == source, "LZ4Block does not round-trip \(count) bytes")
    if let smaller = try? LZ4Block.compress(source) {
        Fuzz.check(smaller == packed && smaller.count < count, "LZ4Block.compress([UInt8]) differs from compress(_:into:) or did not shrink")
    }

    checkCompressedBlock(source, minimumSaving: minimumSaving, mutations: mutations, packed: packed)

    // Damaged LZ4 bytes, with a checksum that matches them.
    var damaged = packed
    for m in mutations { damaged[m.position % damaged.count] ^= m.xor }
    if truncation > 0 { damaged.removeLast(truncation % damaged.count) }
    checkDecode(damaged, size: count)
}

func checkCompressedBlock(_ source: [UInt8], minimumSaving: Double, mutations: [(position: Int, xor: UInt8)], packed: [UInt8]) {
    let count = source.count
    let allowed = CompressedBlock.maximumResidentBytes(uncompressedCount: count, minimumSaving: minimumSaving)
    guard let block = source.withUnsafeBytes({ CompressedBlock.compress($0, minimumSaving: minimumSaving) }) else {
        Fuzz.keep(allowed)
        return
    }
    Fuzz.check(block.uncompressedCount == count, "block of \(count) bytes says \(block.uncompressedCount)")
    Fuzz.check(block.residentBytes <= allowed, "kept a block of \(block.residentBytes) resident bytes; \(allowed) allowed")
    Fuzz.check(block.residentBytes == CompressedBlock.residentBytes(compressedCount: block.compressedCount)
               && block.compressedCount + CompressedBlock.fixedOverheadBytes <= block.residentBytes,
               "resident bytes \(block.residentBytes) inconsistent with \(block.compressedCount) compressed bytes")
    Fuzz.check(block.compressedBytesForTesting == packed, "the block's bytes are not LZ4's (limited output changed the encoding?)")
    let (result, out) = decompress(block, count: count)
    Fuzz.check(result == nil && out == source, "CompressedBlock does not round-trip \(count) bytes: \(String(describing: result))")
    checkSizeMismatch(block)

    // Every damaged byte, compressed or checksum, is caught before LZ4 runs;
    // damaging it again (the same flip) restores the block.
    let span = block.compressedCount + CompressedBlock.checksumByteCount
    for m in mutations {
        let offset = m.position % span
        block.corruptByteForTesting(at: offset)
        let (damaged, bytes) = decompress(block, count: count)
        Fuzz.check(damaged == .checksumMismatch, "damaged byte \(offset) of \(span): \(String(describing: damaged))")
        Fuzz.check(bytes.allSatisfy { $0 == sentinel }, "a block failing its checksum wrote to the destination")
        block.corruptByteForTesting(at: offset)
        let (restored, again) = decompress(block, count: count)
        Fuzz.check(restored == nil && again == source, "undoing damage at \(offset) did not restore the block: \(String(describing: restored))")
    }
}
