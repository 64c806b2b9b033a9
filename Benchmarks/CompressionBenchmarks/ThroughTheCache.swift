// The compressed tier through the engine, against bare liblz4 on the same
// bytes and against the device, in one run (docs/performance.md, "The
// compressed tier through the cache"):
// - reclaim compressing 16 cold 64 KiB text folios (`PageCache.reclaim(toBytes:)`, the
//   path reclaim takes under pressure), and bare LZ4_compress_default on the
//   same 16 blocks;
// - reads that hit those 16 compressed folios (each decompresses 64 KiB:
//   checksum, LZ4, the locks, back into the policy), and bare
//   LZ4_decompress_safe of the same blocks into 16 buffers;
// - the same 16 × 64 KiB read from the disk with O_DIRECT (random offsets of
//   a 256 MiB file of random bytes, so neither the OS cache nor the device's
//   read-ahead serves them): what a compressed hit saves.
//
//     swift package --scratch-path ../.build-codec-bench benchmark \
//         --target CompressionBenchmarks --filter 'tier .*' --no-progress

import Benchmark
import CLZ4
@_spi(FolioInternals) import FolioCache
import FolioLocks
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Linux's O_DIRECT, which Glibc's module does not export (it needs
/// _GNU_SOURCE); its value differs by architecture.
#if arch(x86_64)
let oDirect: Int32 = 0o40000
#else
let oDirect: Int32 = 0o200000
#endif

/// 1 MiB of text: 16 folios of 64 KiB.
let tierFolios = 16
let tierText: [UInt8] = (0..<(tierFolios * blockSize)).map { corpus[$0 % corpus.count] }

/// A file holding `bytes` in the system temporary directory.
func temporaryFile(_ name: String, _ bytes: [UInt8]) -> String {
    let path = NSTemporaryDirectory() + "folio-bench-\(getpid())-\(name)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}

/// A cache with compression on (the collapser idle) holding the 1 MiB of
/// text in 16 folios of 64 KiB, read once in order (readahead). Decompressed
/// folios drop their block (`keepCompressedCopy` off), so that every round
/// of reclaim compresses.
func tierCache() throws -> (PageCache<HybridFairLocking>, CachedFile<HybridFairLocking>, String) {
    let path = temporaryFile("tier", tierText)
    let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(
        pageSize: 4096, capacity: 64 << 20, maxFolioOrder: 4,
        compression: CompressionConfiguration(enabled: true, keepCompressedCopy: false, collapseInterval: .seconds(86_400))))
    let file = try cache.open(path: path, options: [])
    _ = try file.read(count: tierText.count, at: 0)
    precondition(cache.statistics.readaheadFolios >= UInt64(tierFolios) - 1, "readahead did not make 64 KiB folios")
    return (cache, file, path)
}

/// Reclaim until only the compressed size is left: every folio compressed,
/// none evicted (the text compresses to ~40 %).
func compressAll(_ cache: PageCache<HybridFairLocking>) {
    cache.reclaim(toBytes: tierText.count * 45 / 100)
}

/// One 4 KiB read at the start of each folio: each decompresses one.
func readEveryFolio(_ file: CachedFile<HybridFairLocking>, _ buffer: UnsafeMutableRawBufferPointer) throws {
    for f in 0..<tierFolios { _ = try file.read(into: buffer, at: Int64(f * blockSize)) }
}

func registerThroughTheCache() {
    Benchmark("tier: reclaim compresses 16 × 64 KiB text folios", configuration: .init(scalingFactor: .one)) { benchmark in
        let (cache, file, path) = try tierCache()
        defer { try? file.close(); unlink(path) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        let before = cache.statistics.compressions
        var rounds: UInt64 = 0
        for _ in benchmark.scaledIterations {
            try readEveryFolio(file, buffer)  // decompressed again (not measured)
            benchmark.startMeasurement()
            compressAll(cache)
            benchmark.stopMeasurement()
            rounds += 1
        }
        let s = cache.statistics
        precondition(s.compressions - before == rounds * UInt64(tierFolios) && s.evictions == 0,
                     "reclaim did not compress exactly the 16 folios each round: \(s)")
    }
    Benchmark("tier: bare LZ4_compress_default of the same 16 blocks", configuration: .init(scalingFactor: .one)) { benchmark in
        let blocks = blocks(of: tierText)
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(LZ4_compressBound(Int32(blockSize))), alignment: 64)
        defer { out.deallocate() }
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            for b in blocks { blackHole(bareCompress(b, into: out)) }
            benchmark.stopMeasurement()
        }
    }
    Benchmark("tier: 16 reads that hit compressed 64 KiB folios", configuration: .init(scalingFactor: .one)) { benchmark in
        let (cache, file, path) = try tierCache()
        defer { try? file.close(); unlink(path) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        let before = cache.statistics.decompressions
        var rounds: UInt64 = 0
        for _ in benchmark.scaledIterations {
            compressAll(cache)  // not measured
            benchmark.startMeasurement()
            try readEveryFolio(file, buffer)
            benchmark.stopMeasurement()
            rounds += 1
        }
        let s = cache.statistics
        precondition(s.decompressions - before == rounds * UInt64(tierFolios) && s.misses == UInt64(tierFolios),
                     "the reads did not decompress exactly the 16 folios each round, or missed: \(s)")
    }
    Benchmark("tier: bare LZ4_decompress_safe of the same 16 blocks", configuration: .init(scalingFactor: .one)) { benchmark in
        let compressed: [[UInt8]] = blocks(of: tierText).map { b in
            var out = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(blockSize))))
            let n = out.withUnsafeMutableBytes { bareCompress(b, into: $0) }
            return Array(out[0..<n])
        }
        // Into 16 buffers, as the cache decompresses into 16 folios (one
        // destination reused would stay in the CPU's cache).
        let destinations = (0..<tierFolios).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64) }
        defer { for d in destinations { d.deallocate() } }
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            for (c, dst) in zip(compressed, destinations) { blackHole(c.withUnsafeBytes { bareDecompress($0, into: dst) }) }
            benchmark.stopMeasurement()
        }
    }
    Benchmark("tier: 16 × 64 KiB O_DIRECT reads from the disk, random offsets", configuration: .init(scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 300)) { benchmark in
        let size = 256 << 20
        let path = NSTemporaryDirectory() + "folio-bench-\(getpid())-odirect"
        do {
            var rng = SplitMix64(state: 42)
            let chunk = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            for _ in 0..<(size >> 20) { h.write(Data(chunk)) }
            try h.synchronize()
            try h.close()
        }
        defer { unlink(path) }
        let fd = open(path, O_RDONLY | oDirect)
        precondition(fd >= 0, "O_DIRECT open failed: errno \(errno)")
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        var rng = SplitMix64(state: 7)
        for _ in benchmark.scaledIterations {
            benchmark.startMeasurement()
            for _ in 0..<tierFolios {
                let offset = off_t(Int(rng.next() % UInt64(size / blockSize)) * blockSize)
                precondition(pread(fd, buffer.baseAddress, blockSize, offset) == blockSize, "O_DIRECT read failed: errno \(errno)")
            }
            benchmark.stopMeasurement()
        }
    }
}

