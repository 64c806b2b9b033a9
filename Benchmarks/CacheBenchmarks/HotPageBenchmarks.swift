// Readers of one hot page, optimistic copies against copies under the folio
// lock, same run (issue 12, "readers that do not exclude readers"): every
// thread reads the same cached 4 KiB page 20 000 times per iteration (so the
// pool's wake-up, tens of µs, is a few ns per read), on 1 and
// 2 threads. Scaling = 2 × time(1 thread) / time(2 threads); the ratio of the
// two modes at the same thread count is the gain. The per-inode and per-range
// rows are the strategies whose readers already share a lock.

import Benchmark
import FolioCache
import FolioLocks

func registerHotPageBenchmarks() {
    struct Register: LockStrategyVisitor {
        let name: String
        let modes: [Bool]
        func visit<S: LockStrategy>(_ strategy: S) {
            for optimistic in modes {
                for threads in [1, 2] {
                    let mode = S.locksFolios ? (optimistic ? ", optimistic" : ", locked") : ""
                    Benchmark("\(name) read one hot 4 KiB page\(mode), \(threads) thread\(threads == 1 ? "" : "s") x 20000") { benchmark in
                        let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20,
                                                                                          optimisticReads: optimistic))
                        let file = try cache.open(path: benchFilePath, options: [])
                        let warm = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                        _ = try file.read(into: warm, at: 0)
                        warm.deallocate()
                        let pool = ThreadPool(threads: threads) { _ in
                            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                            defer { buffer.deallocate() }
                            for _ in 0..<20_000 { blackHole(try? file.read(into: buffer, at: 0)) }
                        }
                        benchmark.startMeasurement()
                        for _ in benchmark.scaledIterations { pool.runOnce() }
                        benchmark.stopMeasurement()
                        pool.shutdown()
                        try file.close()
                    }
                }
            }
        }
    }
    for kind in [LockStrategyKind.perPageBit, .hybridFair] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue, modes: [true, false]))
    }
    for kind in [LockStrategyKind.perInode, .perRange] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue, modes: [true]))
    }
}
