// The async API against the synchronous one, same run (issue 13):
//
//     cd Benchmarks && swift package benchmark --target CacheBenchmarks --filter 'async .*' --no-progress
//
// - hit: one task reads `blockOrder` (1000 cached 4 KiB blocks) per
//   iteration, `file.read` in one benchmark, `file.async.read` in the other
//   (both in an async benchmark closure). Target: async ≤ 1.2× sync.
// - throughput (2 tasks against 2 threads): Benchmarks/AsyncThroughput, an
//   executable of its own (why: the note at the end of `Register`).

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
            // Throughput on two tasks against two threads is not measured
            // here: package-benchmark runs every body on a Dispatch worker, on
            // Linux one of the cooperative pool's threads, so two tasks got
            // one thread (on 2 cores). See Benchmarks/AsyncThroughput.
        }
    }
    for kind in [LockStrategyKind.perPageBit, .hybridFair, .perInode, .perRange] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue))
    }
}

/// A buffer a benchmark's task owns, carried across its awaits.
struct BenchBuffer: @unchecked Sendable {
    // @unchecked Sendable: one task uses it, awaiting each read.
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}
