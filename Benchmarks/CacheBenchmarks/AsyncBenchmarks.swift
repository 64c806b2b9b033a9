// The async API against the synchronous one, same run (issue 13):
//
//     cd Benchmarks && swift package benchmark --target CacheBenchmarks --filter 'async .*' --no-progress
//
// - hit: one task reads `blockOrder` (1000 cached 4 KiB blocks) per
//   iteration, `file.read` in one benchmark, `file.async.read` in the other
//   (both in an async benchmark closure). Target: async ≤ 1.2× sync.
// - throughput: the same reads on 2 threads (synchronous API on 2 threads
//   of a `ThreadPool`) against 2 tasks (async API on the cooperative pool,
//   which has 2 threads here), each doing `blockOrder` 10 times; hits, and a
//   16-page budget where nearly every read misses (from the warm OS page
//   cache) — the async misses hop to Folio's I/O threads.

import Benchmark
import FolioCache
import FolioLocks

func registerAsyncBenchmarks() {
    struct Register: LockStrategyVisitor {
        let name: String
        func visit<S: LockStrategy>(_ strategy: S) {
            Benchmark("async \(name) read 4 KiB hit, sync API") { benchmark async throws in
                let (file, buffer) = try openWarm(strategy, .s3fifo)
                defer { buffer.deallocate() }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    for b in blockOrder { blackHole(try file.read(into: buffer, at: Int64(b * blockSize))) }
                }
                benchmark.stopMeasurement()
                try file.close()
            }
            Benchmark("async \(name) read 4 KiB hit, async API") { benchmark async throws in
                let (file, buffer) = try openWarm(strategy, .s3fifo)
                defer { buffer.deallocate() }
                let raw = BenchBuffer(buffer)
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    for b in blockOrder { blackHole(try await file.async.read(into: raw.buffer, at: Int64(b * blockSize))) }
                }
                benchmark.stopMeasurement()
                try file.close()
            }
            for (label, capacity) in [("hits", 64 << 20), ("misses", 16 * blockSize)] {
                Benchmark("async \(name) \(label) x 10000, 2 threads, sync API", configuration: roundConfiguration) { benchmark in
                    let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: capacity))
                    let file = try cache.open(path: benchFilePath, options: [])
                    let pool = ThreadPool(threads: 2) { _ in
                        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                        defer { buffer.deallocate() }
                        for _ in 0..<10 { for b in blockOrder { blackHole(try? file.read(into: buffer, at: Int64(b * blockSize))) } }
                    }
                    pool.runOnce()
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations { pool.runOnce() }
                    benchmark.stopMeasurement()
                    pool.shutdown()
                    try file.close()
                }
                Benchmark("async \(name) \(label) x 10000, 2 tasks, async API", configuration: roundConfiguration) { benchmark async throws in
                    let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: capacity))
                    let file = try cache.open(path: benchFilePath, options: [])
                    @Sendable func round() async {
                        await withTaskGroup(of: Void.self) { group in
                            for _ in 0..<2 {
                                group.addTask {
                                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                                    defer { buffer.deallocate() }
                                    let raw = BenchBuffer(buffer)
                                    for _ in 0..<10 { for b in blockOrder { blackHole(try? await file.async.read(into: raw.buffer, at: Int64(b * blockSize))) } }
                                }
                            }
                        }
                    }
                    await round()
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations { await round() }
                    benchmark.stopMeasurement()
                    try file.close()
                }
            }
        }
    }
    for kind in [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue))
    }
}

/// The throughput benchmarks' iteration is a whole round (2 × 10 000 reads):
/// not scaled by the suite's default `.kilo`, which made one sample of the
/// miss round 20 million hopped misses (minutes; it looked like a hang).
var roundConfiguration: Benchmark.Configuration { .init(scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200) }

/// A buffer a benchmark's task owns, carried across its awaits.
struct BenchBuffer: @unchecked Sendable {
    // @unchecked Sendable: one task uses it, awaiting each read.
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}
