// Compressed blocks (FolioCache's CompressedBlock: LZ4 block + XXH3-64 in one
// exactly-sized allocation) against bare liblz4 on the same bytes, and against
// liblz4's frame format with its XXH32 checksums — the other checksum
// candidate — in one run; then what 64 KiB units save over 4 KiB units.
//
//     cd Benchmarks && swift package --scratch-path ../.build-codec-bench benchmark \
//         --target CompressionBenchmarks --no-progress
//
// Each iteration compresses or decompresses one 64 KiB block, cycling through
// the blocks of its data set; MB/s = 65 536 B ÷ the p50 in µs (the table gives ns). The data:
// - text: the regular files of /usr/share/common-licenses in sorted name
//   order (symlinks skipped: they repeat other files), concatenated —
//   237 320 B on Debian 12, so 3 whole 64 KiB blocks;
// - mixed: 1 KiB runs, every fourth of random bytes and the others text (the
//   corpus from the block's offset on): 25 % incompressible, like data with
//   embedded compressed pieces;
// - random bytes (which CompressedBlock must refuse) and zeros.
// The "size" and "capacity" benchmarks measure bytes, not time: their
// custom metrics are the same in every sample.

import Benchmark
import CLZ4
import CLZ4Frame
import CXXHash
@_spi(FolioInternals) import FolioCache
import Foundation

let blockSize = 64 << 10
/// The engine's default `compression.minimumSaving`.
let minimumSaving = 0.25

let corpus: [UInt8] = {
    let dir = "/usr/share/common-licenses"
    let fm = FileManager.default
    var bytes: [UInt8] = []
    for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
        let path = dir + "/" + name
        guard (try? fm.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
              let data = fm.contents(atPath: path) else { continue }
        bytes += data
    }
    precondition(bytes.count >= blockSize, "\(dir) holds less than 64 KiB of text")
    return bytes
}()

/// The whole 64 KiB blocks of `bytes`.
func blocks(of bytes: [UInt8], size: Int = blockSize) -> [[UInt8]] {
    stride(from: 0, through: bytes.count - size, by: size).map { Array(bytes[$0..<($0 + size)]) }
}

struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let dataSets: [(name: String, blocks: [[UInt8]])] = [
    ("text", blocks(of: corpus)),
    ("mixed", (0..<4).map { b in
        var rng = SplitMix64(state: UInt64(b))
        return (0..<blockSize).map { i in
            (i >> 10) % 4 == 3 ? UInt8(truncatingIfNeeded: rng.next()) : corpus[(b * blockSize + i) % corpus.count]
        }
    }),
    ("random", (0..<4).map { b in
        var rng = SplitMix64(state: 1000 + UInt64(b))
        return (0..<blockSize).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }),
    ("zeros", [[UInt8](repeating: 0, count: blockSize)]),
]

/// 2 MiB of text (the corpus repeated: its period, 237 KB, is beyond LZ4's
/// 64 KiB window, so the repetition does not help LZ4): the largest folio,
/// whose scratch buffer is per call.
let largeText: [UInt8] = (0..<(2 << 20)).map { corpus[$0 % corpus.count] }

// MARK: The bare calls and the frame-format candidate

func bareCompress(_ source: [UInt8], into destination: UnsafeMutableRawBufferPointer) -> Int {
    source.withUnsafeBytes { src in
        Int(LZ4_compress_default(src.baseAddress!.assumingMemoryBound(to: CChar.self),
                                 destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                                 Int32(src.count), Int32(destination.count)))
    }
}

func bareDecompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) -> Int {
    Int(LZ4_decompress_safe(source.baseAddress!.assumingMemoryBound(to: CChar.self),
                            destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                            Int32(source.count), Int32(destination.count)))
}

/// LZ4's frame format with an XXH32 of each compressed block (checked by
/// LZ4F_decompress before it decompresses the block) and optionally one of
/// the content (checked after).
struct FrameFormat {
    var preferences = LZ4F_preferences_t()

    init(contentChecksum: Bool, size: Int) {
        preferences.frameInfo.blockSizeID = size <= 64 << 10 ? LZ4F_max64KB : LZ4F_max4MB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled
        preferences.frameInfo.contentChecksumFlag = contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
    }

    /// LZ4F_compressFrame insists on a destination of the full bound (it
    /// cannot stop early on incompressible data).
    func bound(_ count: Int) -> Int {
        withUnsafePointer(to: preferences) { LZ4F_compressFrameBound(count, $0) }
    }

    func compress(_ source: [UInt8], into destination: UnsafeMutableRawBufferPointer) -> Int {
        let n = source.withUnsafeBytes { src in
            withUnsafePointer(to: preferences) { LZ4F_compressFrame(destination.baseAddress, destination.count, src.baseAddress, src.count, $0) }
        }
        precondition(LZ4F_isError(n) == 0, "LZ4F_compressFrame failed")
        return n
    }
}

/// Decompresses one whole frame into exactly `destination`.
func frameDecompress(_ dctx: OpaquePointer, _ frame: [UInt8], into destination: UnsafeMutableRawBufferPointer) {
    var dstSize = destination.count
    var srcSize = frame.count
    let r = frame.withUnsafeBytes { LZ4F_decompress(dctx, destination.baseAddress, &dstSize, $0.baseAddress, &srcSize, nil) }
    precondition(r == 0 && dstSize == destination.count, "LZ4F_decompress failed")
}

/// What the frame would cost in the same kind of allocation as
/// CompressedBlock's (object header, a 12-byte header of sizes without the
/// checksum, which is in the frame, then the bytes; malloc's chunk word).
final class FrameStorage: ManagedBuffer<(UInt32, UInt32, UInt32), UInt8> {}
func frameResidentBytes(_ frameCount: Int) -> Int {
    let object = FrameStorage.create(minimumCapacity: frameCount) { _ in (0, 0, 0) }
    let base = UnsafeRawPointer(Unmanaged.passUnretained(object).toOpaque())
    let offset = base.distance(to: UnsafeRawPointer(object.withUnsafeMutablePointerToElements { $0 }))
    return offset + object.capacity + 8
}

// MARK: Benchmarks

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock], timeUnits: .nanoseconds,
        maxDuration: .seconds(1), maxIterations: 100_000)

    for (name, data) in dataSets {
        registerCompression(name, data)
    }
    registerCompression("text", [largeText], label: "2 MiB", frames: false)
    registerSizes()
    registerCapacity()
    registerThroughTheCache()
}

func registerCompression(_ name: String, _ data: [[UInt8]], label: String = "64 KiB", frames: Bool = true) {
    let size = data[0].count
    let bound = Int(LZ4_compressBound(Int32(size)))
    let compressible = name != "random"

    Benchmark("compress \(label) \(name): bare LZ4_compress_default") { benchmark in
        let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 16)
        defer { dst.deallocate() }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(bareCompress(data[i % data.count], into: dst)) }
        benchmark.stopMeasurement()
    }
    if compressible {
        // What CompressedBlock adds besides the copy and the allocation.
        Benchmark("compress \(label) \(name): bare LZ4 + XXH3-64, no copy") { benchmark in
            let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: bound, alignment: 16)
            defer { dst.deallocate() }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations {
                let n = bareCompress(data[i % data.count], into: dst)
                blackHole(XXH3_64bits(dst.baseAddress, n))
            }
            benchmark.stopMeasurement()
        }
    }
    Benchmark("compress \(label) \(name): CompressedBlock.compress\(compressible ? "" : " (refused)")") { benchmark in
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            let block = data[i % data.count].withUnsafeBytes { CompressedBlock.compress($0, minimumSaving: minimumSaving) }
            precondition((block != nil) == compressible, "CompressedBlock: \(name) \(block == nil ? "refused" : "accepted")")
            blackHole(block)
        }
        benchmark.stopMeasurement()
    }
    guard compressible else { return }

    Benchmark("decompress \(label) \(name): bare LZ4_decompress_safe") { benchmark in
        let packed = data.map { try! LZ4Block.compress($0)! }
        let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { dst.deallocate() }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            let n = packed[i % packed.count].withUnsafeBytes { bareDecompress($0, into: dst) }
            precondition(n == size)
        }
        benchmark.stopMeasurement()
    }
    Benchmark("decompress \(label) \(name): CompressedBlock.decompress") { benchmark in
        let packed = data.map { $0.withUnsafeBytes { CompressedBlock.compress($0, minimumSaving: minimumSaving)! } }
        let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer { dst.deallocate() }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { try packed[i % packed.count].decompress(into: dst) }
        benchmark.stopMeasurement()
    }
    guard frames else { return }
    for content in [false, true] {
        let variant = content ? "block + content checksum" : "block checksum"
        Benchmark("compress \(label) \(name): LZ4F frame, \(variant)") { benchmark in
            let format = FrameFormat(contentChecksum: content, size: size)
            let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: format.bound(size), alignment: 16)
            defer { dst.deallocate() }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations { blackHole(format.compress(data[i % data.count], into: dst)) }
            benchmark.stopMeasurement()
        }
        Benchmark("decompress \(label) \(name): LZ4F frame, \(variant)") { benchmark in
            let format = FrameFormat(contentChecksum: content, size: size)
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: format.bound(size), alignment: 16)
            let frames = data.map { Array(UnsafeRawBufferPointer(rebasing: scratch[..<format.compress($0, into: scratch)])) }
            scratch.deallocate()
            var dctx: OpaquePointer?
            precondition(LZ4F_isError(LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))) == 0)
            let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            defer { dst.deallocate(); LZ4F_freeDecompressionContext(dctx) }
            benchmark.startMeasurement()
            for i in benchmark.scaledIterations { frameDecompress(dctx!, frames[i % frames.count], into: dst) }
            benchmark.stopMeasurement()
        }
    }
}

/// Resident bytes per 64 KiB block, averaged over the data set's blocks:
/// CompressedBlock against the frame in the same kind of allocation.
func registerSizes() {
    let sizes: [BenchmarkMetric] = [.custom("compressed B", useScalingFactor: false), .custom("resident B", useScalingFactor: false)]
    let bytes = Benchmark.Configuration(metrics: sizes, units: exactUnits(sizes), maxDuration: .milliseconds(10), maxIterations: 3)
    for (name, data) in dataSets where name == "text" || name == "mixed" {
        Benchmark("size 64 KiB \(name): CompressedBlock", configuration: bytes) { benchmark in
            let packed = data.map { $0.withUnsafeBytes { CompressedBlock.compress($0, minimumSaving: minimumSaving)! } }
            benchmark.measurement(.custom("compressed B", useScalingFactor: false), packed.map(\.compressedCount).reduce(0, +) / packed.count)
            benchmark.measurement(.custom("resident B", useScalingFactor: false), packed.map(\.residentBytes).reduce(0, +) / packed.count)
        }
        for content in [false, true] {
            Benchmark("size 64 KiB \(name): LZ4F frame, \(content ? "block + content checksum" : "block checksum")", configuration: bytes) { benchmark in
                let format = FrameFormat(contentChecksum: content, size: blockSize)
                let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: format.bound(blockSize), alignment: 16)
                defer { dst.deallocate() }
                let sizes = data.map { format.compress($0, into: dst) }
                benchmark.measurement(.custom("compressed B", useScalingFactor: false), sizes.reduce(0, +) / sizes.count)
                benchmark.measurement(.custom("resident B", useScalingFactor: false), sizes.map(frameResidentBytes).reduce(0, +) / sizes.count)
            }
        }
    }
}

/// The text's whole 64 KiB blocks kept as 64 KiB folios or as 4 KiB pages,
/// each unit compressed if it saves `minimumSaving`, else kept as it is
/// (resident = its size). Saved = logical − resident; capacity = logical ÷
/// resident (×1000). Block metadata is included; the engine's per-folio
/// header (72 B of malloc per folio, so 16× as many for 4 KiB pages) is not.
func registerCapacity() {
    let metrics: [BenchmarkMetric] = ["logical B", "resident B", "saved B", "capacity x1000", "units kept raw"]
        .map { .custom($0, polarity: .prefersLarger, useScalingFactor: false) }
    let text = blocks(of: corpus).flatMap { $0 }
    for unit in [64 << 10, 4 << 10] {
        Benchmark("capacity text in \(unit >> 10) KiB units", configuration: .init(metrics: metrics, units: exactUnits(metrics), maxDuration: .milliseconds(10), maxIterations: 3)) { benchmark in
            var resident = 0
            var raw = 0
            for piece in blocks(of: text, size: unit) {
                if let block = piece.withUnsafeBytes({ CompressedBlock.compress($0, minimumSaving: minimumSaving) }) {
                    resident += block.residentBytes
                } else {
                    resident += unit
                    raw += 1
                }
            }
            let values = [text.count, resident, text.count - resident, text.count * 1000 / resident, raw]
            for (metric, value) in zip(metrics, values) { benchmark.measurement(metric, value) }
        }
    }
}

/// Byte counts shown as they are, not rounded to thousands.
func exactUnits(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkUnits] {
    Dictionary(uniqueKeysWithValues: metrics.map { ($0, .count) })
}
