// Writes the encoded seeds of Fuzz/Corpus/FuzzCompressedBlock with the real
// encoder (LZ4Block.compress), in the harness's input format:
//   decode seeds  0x00, size class 12 (sizes up to 2 MiB), size - 1 (3 bytes LE), LZ4 block
//   encode seeds  0x01, repeats - 1, saving choice, mutation count, mutations, truncation, text
// Usage (from the repository root; docs/fuzzing.md):
//   ENABLE_FUZZ=1 swift run --scratch-path .build-fuzz-gen fuzz-corpus-gen Fuzz/Corpus/FuzzCompressedBlock
import FolioCache
import Foundation

let directory = CommandLine.arguments.dropFirst().first ?? "Fuzz/Corpus/FuzzCompressedBlock"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

func write(_ name: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
    print("\(directory)/\(name): \(bytes.count) bytes")
}

func decodeSeed(_ plain: [UInt8]) throws -> [UInt8]? {
    guard let packed = try LZ4Block.compress(plain) else { return nil }
    let n = plain.count - 1
    return [0, 12, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n >> 16)] + packed
}

/// A deterministic generator (SplitMix64), so the corpus is reproducible.
struct SplitMix { var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
var rng = SplitMix(state: 0x5EED)

let text = Array("""
    Folio keeps cold clean folios LZ4-compressed; the checksum is verified before every decompression, \
    so a corrupted block is reported and never expands into the destination.
    """.utf8)
let zeros = [UInt8](repeating: 0, count: 4096)
let pattern = (0..<4096).map { UInt8(truncatingIfNeeded: $0 / 64) }
let mixed = (0..<4096).map { i in i % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(truncatingIfNeeded: i / 64) }
var textPage: [UInt8] = []
while textPage.count < 4096 { textPage += text }
textPage.removeSubrange(4096...)

let pages: [(String, [UInt8])] = [
    ("zeros-4k", zeros), ("pattern-4k", pattern), ("mixed-4k", mixed), ("text-4k", textPage),
    ("zeros-512", Array(zeros.prefix(512))), ("text-short", text),
]
for (name, page) in pages {
    if let seed = try decodeSeed(page) { try write("decode-\(name)", seed) }
}
// A 64 KiB folio of zeros: a long match, a small block, a large size.
if let seed = try decodeSeed([UInt8](repeating: 0, count: 65536)) { try write("decode-zeros-64k", seed) }

// Encode-then-damage seeds: the harness compresses these itself.
try write("encode-text-x16", [1, 15, 2, 0, 0] + text)
try write("encode-text-x64-damaged", [1, 63, 1, 3, 0x10, 0x00, 0x01, 0x80, 0x00, 0xFF, 0x07, 0x01, 0x40, 0] + text)
try write("encode-pattern-truncated", [1, 0, 4, 1, 0x00, 0x02, 0x20, 9] + pattern.prefix(1024))
try write("encode-mixed", [1, 3, 0, 0, 0] + mixed.prefix(2048))

// Edge cases: an empty block; a literal-only token; one byte too many; an
// offset of zero; an offset past the start.
try write("edge-empty", [0, 12, 0x0F, 0, 0])
try write("edge-literals-only", [0, 12, 4, 0, 0, 0x50, 0x68, 0x65, 0x6C, 0x6C, 0x6F])
try write("edge-size-off-by-one", [0, 12, 5, 0, 0, 0x50, 0x68, 0x65, 0x6C, 0x6C, 0x6F])
try write("edge-zero-offset", [0, 12, 0x1F, 0, 0, 0x14, 0x61, 0x00, 0x00, 0x50, 0x61, 0x61, 0x61, 0x61, 0x61])
try write("edge-offset-before-start", [0, 12, 0x1F, 0, 0, 0x14, 0x61, 0xFF, 0x00, 0x50, 0x61, 0x61, 0x61, 0x61, 0x61])
