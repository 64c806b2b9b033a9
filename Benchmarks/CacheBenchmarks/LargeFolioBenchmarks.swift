// Large folios against one-page folios, same run, same file (hybrid-fair):
// a 4 KiB read hit on a 64 KiB folio vs on a 4 KiB folio; a 64 KiB view read
// in place vs sixteen 4 KiB view reads; a sequential scan of the 16 MiB file
// with readahead vs one page per miss (from the warm OS page cache); partial
// writes with per-page dirty bits vs split-on-write.

import Benchmark
@_spi(FolioInternals) import FolioCache
import FolioLocks

/// A cache with folios of up to `order` (readahead makes them on a
/// sequential pass) holding the hot 1 MiB, read once in order.
func openSequentiallyWarm(order: Int) throws -> CachedFile<HybridFairLocking> {
    let cache = try PageCache(strategy: HybridFairLocking(),
                              configuration: .init(pageSize: blockSize, capacity: 64 << 20, maxFolioOrder: order))
    let file = try cache.open(path: benchFilePath, options: [])
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
    defer { buffer.deallocate() }
    for b in 0..<hotBlocks { _ = try file.read(into: buffer, at: Int64(b * blockSize)) }
    return file
}

/// Per-page dirty bits against split-on-write: a 4 KiB write into each of
/// the 16 clean 64 KiB folios of the hot 1 MiB, then a flush (16 × 4 KiB
/// written back either way) — as the engine does it (the write sets one
/// page's dirty bit), and with the folio split first so that the write
/// dirties a one-page piece (`CachedFile.split(at:)`, SPI: what a
/// split-on-write would add). Not measured: `compact()` merging the pieces
/// back between rounds.
func registerPartialWriteBenchmarks() {
    for splitFirst in [false, true] {
        Benchmark("large folios: 16 × 4 KiB writes into 64 KiB folios + flush, \(splitFirst ? "split-on-write" : "per-page dirty bits")",
                  configuration: .init(scalingFactor: .one)) { benchmark in
            let file = try openSequentiallyWarm(order: 4)
            let page = [UInt8](repeating: 0xA5, count: blockSize)
            let folios = hotBlocks / 16
            for _ in benchmark.scaledIterations {
                let merged = try file.compact()
                precondition(merged.aborts.isEmpty, "the pieces did not merge back: \(merged)")
                benchmark.startMeasurement()
                for f in 0..<folios {
                    let offset = Int64(f * 16 * blockSize + 5 * blockSize)
                    if splitFirst { precondition(file.split(at: offset), "no 64 KiB folio to split") }
                    try file.write(page, at: offset)
                }
                try file.flush()
                benchmark.stopMeasurement()
            }
            try file.close()
        }
    }
}

func registerLargeFolioBenchmarks() {
    registerPartialWriteBenchmarks()
    for order in [0, 4] {
        let label = order == 0 ? "4 KiB folios" : "64 KiB folios"
        Benchmark("large folios: read 4 KiB hit, \(label)") { benchmark in
            let file = try openSequentiallyWarm(order: order)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
            defer { buffer.deallocate() }
            try measureReads(benchmark, file, buffer)
        }
        // 64 KiB per operation either way, the same bytes touched (the last
        // byte of each page): in place over one folio, or (order 0) sixteen
        // page-sized in-place accesses; and the same as copies.
        for copying in [false, true] {
            Benchmark("large folios: view \(copying ? "copy" : "in-place read") 64 KiB, \(label)") { benchmark in
                let file = try openSequentiallyWarm(order: order)
                let view = try file.map(0..<Int64(hotBlocks * blockSize))
                let chunk = 16 * blockSize
                let chunks = hotBlocks / 16
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
                defer { buffer.deallocate() }
                var sink = 0
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    for b in blockOrder {
                        let start = (b % chunks) * chunk
                        if copying {
                            if order == 0 {
                                for p in 0..<16 {
                                    try view.copyBytes(at: Int64(start + p * blockSize), into: UnsafeMutableRawBufferPointer(rebasing: buffer[p * blockSize..<(p + 1) * blockSize]))
                                }
                            } else {
                                try view.copyBytes(at: Int64(start), into: buffer)
                            }
                            sink &+= Int(buffer[chunk - 1])
                        } else if order == 0 {
                            for p in 0..<16 {
                                sink &+= try view.withUnsafeBytes(at: Int64(start + p * blockSize), count: blockSize) { Int($0[blockSize - 1]) }
                            }
                        } else {
                            sink &+= try view.withUnsafeBytes(at: Int64(start), count: chunk) { bytes in
                                var s = 0
                                for p in 1...16 { s &+= Int(bytes[p * blockSize - 1]) }
                                return s
                            }
                        }
                    }
                }
                benchmark.stopMeasurement()
                blackHole(sink)
                try file.close()
            }
        }
        Benchmark("large folios: sequential scan 16 MiB in 4 KiB reads, \(label)", configuration: .init(scalingFactor: .one)) { benchmark in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
            defer { buffer.deallocate() }
            for _ in benchmark.scaledIterations {
                let cache = try PageCache(strategy: HybridFairLocking(),
                                          configuration: .init(pageSize: blockSize, capacity: 64 << 20, maxFolioOrder: order))
                let file = try cache.open(path: benchFilePath, options: [])
                benchmark.startMeasurement()
                for b in 0..<fileBlocks { blackHole(try file.read(into: buffer, at: Int64(b * blockSize))) }
                benchmark.stopMeasurement()
                try file.close()
            }
        }
    }
}
