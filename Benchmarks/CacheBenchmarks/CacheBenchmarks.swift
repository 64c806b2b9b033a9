// Cache engine benchmarks: 4 KiB read hit, read miss (from the warm OS page
// cache), write, per strategy, beside pread of the same file and blocks —
// what a user would do instead — and two-thread hit scaling.
//
//     cd Benchmarks && swift package benchmark --target CacheBenchmarks --no-progress
//
// Every read benchmark touches the same 256 blocks (1 MiB) of one 16 MiB file
// in the same pseudo-random order; each iteration is 1000 operations and the
// tool reports per-operation figures (`*`).

import Benchmark
import FolioCache
import FolioLocks
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let blockSize = 4096
let fileBlocks = 4096  // 16 MiB
let hotBlocks = 256    // the 1 MiB the reads touch

/// A 16 MiB file of non-zero bytes in the temporary directory, created once.
let benchFilePath: String = {
    let path = NSTemporaryDirectory() + "folio-bench-\(getpid()).dat"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0, "cannot create \(path)")
    var block = [UInt8](repeating: 0, count: blockSize)
    for b in 0..<fileBlocks {
        for i in 0..<blockSize { block[i] = UInt8(truncatingIfNeeded: b &* 31 &+ i) }
        _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, blockSize, off_t(b * blockSize)) }
    }
    close(fd)
    return path
}()

/// The block sequence every read benchmark follows.
let blockOrder: [Int] = {
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<1000).map { _ in
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return Int(x % UInt64(hotBlocks))
    }
}()

struct RegisterEngine: LockStrategyVisitor {
    let name: String
    func visit<S: LockStrategy>(_ strategy: S) {
        // Read hit: capacity holds the whole file; warmed before measuring.
        registerReadHit("\(name) read 4 KiB hit", strategy, PageCacheConfiguration().evictionPolicy)
        // Read miss: a 16-page budget over 256 blocks, so nearly every read
        // fills a page from the (warm) OS page cache and evicts one.
        Benchmark("\(name) read 4 KiB miss (warm OS cache)") { benchmark in
            let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 16 * blockSize))
            let file = try cache.open(path: benchFilePath, options: [])
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
            defer { buffer.deallocate() }
            try measureReads(benchmark, file, buffer)
        }
        // Write: 4 KiB over a cached block (dirty in memory; no flush inside
        // the loop), on a scratch copy so the read file stays intact.
        Benchmark("\(name) write 4 KiB (cached)") { benchmark in
            let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20))
            let file = try cache.open(backend: MemoryBackend(path: "scratch"))
            let data = [UInt8](repeating: 7, count: blockSize)
            try data.withUnsafeBytes { buf in
                for b in 0..<hotBlocks { try file.write(buf, at: Int64(b * blockSize)) }
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    for b in blockOrder { try file.write(buf, at: Int64(b * blockSize)) }
                }
                benchmark.stopMeasurement()
            }
            try file.close()
        }
        // Views over the same cached blocks. "mapped": one view, every page
        // already mapped, each access copies the 4 KiB out of the pinned folio
        // (compare with the read hit). "fault": what one request of the
        // shared-file workload does — map 4 KiB, touch it (the fault path:
        // lookup, folio lock, recheck, pin, unlock), copy, unmap.
        Benchmark("\(name) view read 4 KiB, mapped") { benchmark in
            let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20))
            let file = try cache.open(path: benchFilePath, options: [])
            let view = try file.map(0..<Int64(hotBlocks * blockSize))
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
            defer { buffer.deallocate() }
            for b in 0..<hotBlocks { try view.copyBytes(at: Int64(b * blockSize), into: buffer) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for b in blockOrder {
                    try view.withUnsafeBytes(at: Int64(b * blockSize), count: blockSize) { buffer.copyMemory(from: $0) }
                    blackHole(buffer.baseAddress)
                }
            }
            benchmark.stopMeasurement()
            try file.close()
        }
        Benchmark("\(name) view map + fault + unmap 4 KiB (cached page)") { benchmark in
            let (file, buffer) = try openWarm(strategy, PageCacheConfiguration().evictionPolicy)
            defer { buffer.deallocate() }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                for b in blockOrder {
                    let view = try file.map(Int64(b * blockSize)..<Int64((b + 1) * blockSize))
                    try view.withUnsafeBytes(at: 0, count: blockSize) { buffer.copyMemory(from: $0) }
                    view.unmap()
                    blackHole(buffer.baseAddress)
                }
            }
            benchmark.stopMeasurement()
            try file.close()
        }
        // Hit scaling: the same 1000 hits per thread, on 1 thread and on 2
        // threads that read disjoint blocks (2 × 1000 per iteration). Scaling
        // = 2 × time(1 thread) / time(2 threads).
        for threads in [1, 2] {
            Benchmark("\(name) read 4 KiB hit, \(threads) thread\(threads == 1 ? "" : "s") x 1000") { benchmark in
                let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20))
                let file = try cache.open(path: benchFilePath, options: [])
                let warm = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                for b in 0..<(2 * hotBlocks) { _ = try file.read(into: warm, at: Int64(b * blockSize)) }
                warm.deallocate()
                let pool = ThreadPool(threads: threads) { t in
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                    defer { buffer.deallocate() }
                    for b in blockOrder { blackHole(try? file.read(into: buffer, at: Int64((t * hotBlocks + b) * blockSize))) }
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

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], timeUnits: .nanoseconds,
        scalingFactor: .kilo, maxDuration: .seconds(1), maxIterations: 2_000)

    Benchmark("Baseline: pread 4 KiB (OS page cache hit)") { benchmark in
        let fd = open(benchFilePath, O_RDONLY)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
        defer { buffer.deallocate(); close(fd) }
        for b in 0..<hotBlocks { blackHole(pread(fd, buffer.baseAddress, blockSize, off_t(b * blockSize))) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for b in blockOrder { blackHole(pread(fd, buffer.baseAddress, blockSize, off_t(b * blockSize))) }
        }
        benchmark.stopMeasurement()
    }
    Benchmark("Baseline: memcpy 4 KiB (same blocks, in memory)") { benchmark in
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: hotBlocks * blockSize, alignment: 64)
        source.initializeMemory(as: UInt8.self, repeating: 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
        defer { buffer.deallocate(); source.deallocate() }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for b in blockOrder {
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + b * blockSize, byteCount: blockSize)
                blackHole(buffer.baseAddress!)
            }
        }
        benchmark.stopMeasurement()
    }
    // The ceiling for hit scaling on this machine: the same copies without
    // any cache (1 and 2 threads, each copying its own 1 MiB of blocks).
    for threads in [1, 2] {
        Benchmark("Baseline: memcpy 4 KiB, \(threads) thread\(threads == 1 ? "" : "s") x 1000") { benchmark in
            let sources = (0..<threads).map { _ in
                let m = UnsafeMutableRawBufferPointer.allocate(byteCount: hotBlocks * blockSize, alignment: 64)
                m.initializeMemory(as: UInt8.self, repeating: 1)
                return UInt(bitPattern: m.baseAddress)
            }
            let pool = ThreadPool(threads: threads) { t in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                defer { buffer.deallocate() }
                guard let base = UnsafeMutableRawPointer(bitPattern: sources[t]), let dst = buffer.baseAddress else { return }
                for b in blockOrder {
                    dst.copyMemory(from: base + b * blockSize, byteCount: blockSize)
                    blackHole(dst)
                }
            }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { pool.runOnce() }
            benchmark.stopMeasurement()
            pool.shutdown()
            for s in sources { UnsafeMutableRawPointer(bitPattern: s)?.deallocate() }
        }
    }
    for kind in LockStrategyKind.allCases {
        LockStrategyConfiguration(kind: kind).visit(RegisterEngine(name: kind.rawValue))
    }
    // The access hook's cost per eviction policy, on the default strategy's
    // read hit (SIEVE and S3-FIFO: a load of the folio's word; LRU: its list
    // lock on every hit).
    for policy in EvictionPolicyKind.allCases {
        registerReadHit("hybrid-fair read 4 KiB hit, eviction \(policy)", HybridFairLocking(), policy)
    }
    registerLargeFolioBenchmarks()
    registerHotPageBenchmarks()
    registerMetricsBenchmarks()
    registerByteEntryPointBenchmarks()
    registerAsyncBenchmarks()
}

/// A cache larger than the file with the hot blocks read in, and a 4 KiB
/// buffer (the caller deallocates it).
func openWarm<S: LockStrategy>(_ strategy: S, _ policy: EvictionPolicyKind) throws -> (CachedFile<S>, UnsafeMutableRawBufferPointer) {
    let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20, evictionPolicy: policy))
    let file = try cache.open(path: benchFilePath, options: [])
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
    for b in 0..<hotBlocks { _ = try file.read(into: buffer, at: Int64(b * blockSize)) }
    return (file, buffer)
}

/// The read-hit benchmark: a cache larger than the file, the hot blocks read
/// once before measuring, then `blockOrder` again and again.
func registerReadHit<S: LockStrategy>(_ name: String, _ strategy: S, _ policy: EvictionPolicyKind) {
    Benchmark(name) { benchmark in
        let (file, buffer) = try openWarm(strategy, policy)
        defer { buffer.deallocate() }
        try measureReads(benchmark, file, buffer)
    }
}

/// The measured loop of the read benchmarks: `blockOrder` through `read`,
/// then the file is closed.
func measureReads<S: LockStrategy>(_ benchmark: Benchmark, _ file: CachedFile<S>, _ buffer: UnsafeMutableRawBufferPointer) throws {
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
        for b in blockOrder { blackHole(try file.read(into: buffer, at: Int64(b * blockSize))) }
    }
    benchmark.stopMeasurement()
    try file.close()
}

/// A fixed set of threads that each run `work(threadIndex)` once per
/// `runOnce()`, which returns when all are done (so thread creation is not
/// measured).
final class ThreadPool: @unchecked Sendable {
    // @unchecked Sendable: the generation/done counters are guarded by a
    // pthread mutex + condition variable; `work` is immutable.
    let threads: Int
    let work: @Sendable (Int) -> Void
    var generation = 0
    var done = 0
    var stopping = false
    var mutex = pthread_mutex_t()
    var cond = pthread_cond_t()
    var handles: [Thread] = []

    init(threads: Int, work: @escaping @Sendable (Int) -> Void) {
        self.threads = threads
        self.work = work
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for t in 0..<threads {
            let th = Thread { [self] in self.loop(t) }
            handles.append(th)
            th.start()
        }
    }

    func loop(_ t: Int) {
        var seen = 0
        while true {
            pthread_mutex_lock(&mutex)
            while generation == seen && !stopping { pthread_cond_wait(&cond, &mutex) }
            if stopping { pthread_mutex_unlock(&mutex); return }
            seen = generation
            pthread_mutex_unlock(&mutex)
            work(t)
            pthread_mutex_lock(&mutex)
            done += 1
            pthread_cond_broadcast(&cond)
            pthread_mutex_unlock(&mutex)
        }
    }

    func runOnce() {
        pthread_mutex_lock(&mutex)
        done = 0
        generation += 1
        pthread_cond_broadcast(&cond)
        while done < threads { pthread_cond_wait(&cond, &mutex) }
        pthread_mutex_unlock(&mutex)
    }

    func shutdown() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
    }
}
