// Async read throughput on the cooperative pool against the synchronous API
// on as many threads of its own (issue 13: "async read throughput ≥ 0.9× the
// synchronous engine on the same number of threads"), interleaved rounds:
//
//     cd Benchmarks && swift build -c release --product AsyncThroughput
//     .build/release/AsyncThroughput [rounds] [strategies]     # 5 per-page-bit,hybrid-fair,per-inode,per-range
//
// Not a package-benchmark target, on purpose: package-benchmark runs every
// benchmark body on a Dispatch worker (async bodies too, behind a
// semaphore), and on Linux that worker is one of the cooperative pool's
// threads — on 2 cores the benchmark's two tasks then share ONE thread (seen
// with `perf` and thread ids: the second task started when the first ended),
// which measured 1 thread against 2 (0.63–0.75×). Here the tasks are started
// from the main thread, which is not a pool thread.
//
// Workloads (the file of CacheBenchmarks: 16 MiB, reads of 4 KiB at the
// same 1 000-block order over its first 1 MiB): `hits` (a cache that holds
// it, warmed), `misses` (a 16-page budget: nearly every read fills from the
// warm OS page cache). Each round runs, per strategy and workload, the
// synchronous API on `threads` threads, then the async API in as many tasks,
// each reading the order `repeats` times; it prints ns per read and the
// throughput ratio async / sync of that round; the last lines are the
// medians and ranges of the ratios.
import FolioCache
import FolioLocks
import Foundation
import Synchronization

let blockSize = 4096
let fileBlocks = 4096
let hotBlocks = 256
let threads = 2

let path = NSTemporaryDirectory() + "folio-async-throughput-\(getpid()).dat"
do {
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { fatalError("cannot create \(path)") }
    var block = [UInt8](repeating: 0, count: blockSize)
    for b in 0..<fileBlocks {
        for i in 0..<blockSize { block[i] = UInt8(truncatingIfNeeded: b &* 31 &+ i) }
        _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, blockSize, off_t(b * blockSize)) }
    }
    close(fd)
}
defer { unlink(path) }

let order: [Int] = {
    var x: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<1000).map { _ in
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        return Int(x % UInt64(hotBlocks))
    }
}()

let arguments = CommandLine.arguments
let rounds = arguments.count > 1 ? Int(arguments[1]) ?? 5 : 5
let kinds = (arguments.count > 2 ? arguments[2] : "per-page-bit,hybrid-fair,per-inode,per-range")
    .split(separator: ",").compactMap { LockStrategyKind(rawValue: String($0)) }
let workloads: [(name: String, capacity: Int, repeats: Int)] = [("hits", 64 << 20, 100), ("misses", 16 * blockSize, 10)]

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// A raw buffer a task owns across its awaits.
struct Buffer: @unchecked Sendable {
    // @unchecked Sendable: one task or thread uses it, awaiting each read.
    let raw: UnsafeMutableRawBufferPointer
}

/// Runs `body` on `threads` new threads at once; their wall time.
func onThreads(_ body: @escaping @Sendable () -> Void) -> UInt64 {
    let start = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)
    for _ in 0..<threads {
        let t = Thread { start.wait(); body(); done.signal() }
        t.start()
    }
    usleep(20_000)  // let them reach the gate
    let t0 = now()
    for _ in 0..<threads { start.signal() }
    for _ in 0..<threads { done.wait() }
    return now() - t0
}

struct Measure: LockStrategyVisitor {
    let capacity: Int
    let repeats: Int
    func visit<S: LockStrategy>(_ strategy: S) -> (sync: UInt64, async: UInt64, hops: UInt64, misses: UInt64) {
        do {
            let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: capacity))
            let file = try cache.open(path: path, options: [])
            let repeats = self.repeats
            let readAll: @Sendable () -> Void = {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                defer { buffer.deallocate() }
                for _ in 0..<repeats { for b in order { _ = try? file.read(into: buffer, at: Int64(b * blockSize)) } }
            }
            readAll()  // warm
            let syncNs = onThreads(readAll)
            let before = cache.statistics
            let sem = DispatchSemaphore(value: 0)
            let box = Box()
            // Started from this (main, non-pool) thread; the tasks run on the pool.
            Task {
                let t0 = now()
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<threads {
                        group.addTask {
                            let buffer = Buffer(raw: .allocate(byteCount: blockSize, alignment: 64))
                            defer { buffer.raw.deallocate() }
                            for _ in 0..<repeats {
                                for b in order { _ = try? await file.async.read(into: buffer.raw, at: Int64(b * blockSize)) }
                            }
                        }
                    }
                }
                box.ns.store(now() - t0, ordering: .releasing)
                sem.signal()
            }
            sem.wait()
            let after = cache.statistics
            try file.close()
            return (syncNs, box.ns.load(ordering: .acquiring), after.asyncHops - before.asyncHops, after.misses - before.misses)
        } catch {
            fatalError("\(error)")
        }
    }
}

final class Box: Sendable { let ns = Atomic<UInt64>(0) }

var ratios: [String: [Double]] = [:]
print("round | strategy | workload | sync ns/read | async ns/read | async/sync throughput | async misses | of them hopped")
for round in 1...rounds {
    for kind in kinds {
        for w in workloads {
            let result = LockStrategyConfiguration(kind: kind).visit(Measure(capacity: w.capacity, repeats: w.repeats))
            let reads = Double(threads * w.repeats * order.count)
            let ratio = Double(result.sync) / Double(result.async)
            ratios["\(kind.rawValue) \(w.name)", default: []].append(ratio)
            print("\(round) | \(kind.rawValue) | \(w.name) | \(String(format: "%.0f", Double(result.sync) / reads * Double(threads))) | \(String(format: "%.0f", Double(result.async) / reads * Double(threads))) | \(String(format: "%.2f", ratio))× | \(result.misses) | \(result.hops)")
        }
    }
}
print("\nmedians of \(rounds) interleaved rounds, \(threads) threads vs \(threads) tasks (async/sync throughput):")
for key in ratios.keys.sorted() {
    let r = ratios[key]!.sorted()
    print("\(key): \(String(format: "%.2f", r[r.count / 2]))× [\(String(format: "%.2f", r.first!))–\(String(format: "%.2f", r.last!))]")
}
