@_spi(FolioInternals) import FolioCache
import FolioLocks
import Foundation
import Synchronization

/// The result of one strategy on one workload.
struct RunResult {
    var kind: LockStrategyKind
    var workload: Workload
    var threads: Int
    var seconds: Double
    var perThreadOps: [Int]
    var statistics: LockStatistics.Snapshot
    var violations: Int

    var totalOps: Int { perThreadOps.reduce(0, +) }
    var opsPerSecond: Double { Double(totalOps) / seconds }
    /// Jain's fairness index over per-thread operation counts: 1 = perfectly
    /// even, 1/n = one thread did everything.
    var jainIndex: Double {
        let sum = perThreadOps.reduce(0.0) { $0 + Double($1) }
        let squares = perThreadOps.reduce(0.0) { $0 + Double($1) * Double($1) }
        return squares == 0 ? 1 : sum * sum / (Double(perThreadOps.count) * squares)
    }
    var minOverMax: Double {
        guard let lo = perThreadOps.min(), let hi = perThreadOps.max(), hi > 0 else { return 1 }
        return Double(lo) / Double(hi)
    }
}

/// Shared state of one run: pages, a per-page checksum that only the page
/// lock protects, and the stop flag.
final class RunState: @unchecked Sendable {
    // @unchecked Sendable: `payload` is mutated only while the page's lock is
    // held through the strategy; the rest is immutable or atomic.
    let folios: [Folio]
    var payload: [[UInt64]]
    let stop = Atomic<Bool>(false)
    let violations = Atomic<Int>(0)

    init(pages: Int) {
        folios = (0..<pages).map { Folio(index: PageIndex(UInt64($0))) }
        payload = [[UInt64]](repeating: [UInt64](repeating: 0, count: 16), count: pages)
    }
}

/// Runs `threads` threads doing page-state changes through `strategy` for
/// `seconds`, exactly in the engine's lock order (invalidate → pages → folio).
func runContention<S: LockStrategy>(_ strategy: S, workload: Workload, threads: Int, seconds: Double) -> RunResult {
    let mapping = strategy.makeMappingLock()
    let state = RunState(pages: workload.pages)
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads * 8)  // padded: one line each
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    let countsBox = CountsBox(counts)
    let group = DispatchGroup()
    let ready = Atomic<Int>(0)
    for t in 0..<threads {
        group.enter()
        Thread {
            var rng = UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15
            var ops = 0
            ready.wrappingAdd(1, ordering: .relaxed)
            while ready.load(ordering: .relaxed) < threads { sched_yield() }
            while !state.stop.load(ordering: .relaxed) {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                let p = workload.pages == 1 ? 0 : Int(rng % UInt64(workload.pages))
                let folio = state.folios[p]
                strategy.lockInvalidate(.shared, in: mapping)
                let g = strategy.lockPages(folio.index..<folio.index.advanced(by: 1), .exclusive, in: mapping)
                strategy.lockFolio(folio)
                // Critical section: a short "write" of the page; the words must
                // stay equal if the lock excludes.
                let v = state.payload[p][0] &+ 1
                for i in 0..<16 { state.payload[p][i] = v }
                strategy.unlockFolio(folio)
                strategy.unlockPages(g, in: mapping)
                strategy.unlockInvalidate(.shared, in: mapping)
                ops += 1
                // Work outside the lock, about five times the critical section.
                var x = rng
                for _ in 0..<80 { x = x &* 6364136223846793005 &+ 1 }
                if x == 42 { print("") }
            }
            countsBox.set(t, ops)
            group.leave()
        }.start()
    }
    while ready.load(ordering: .relaxed) < threads { usleep(100) }
    let start = Date()
    usleep(UInt32(seconds * 1_000_000))
    state.stop.store(true, ordering: .relaxed)
    group.wait()
    let elapsed = Date().timeIntervalSince(start)
    for p in 0..<workload.pages where Set(state.payload[p]).count != 1 {
        state.violations.wrappingAdd(1, ordering: .relaxed)
    }
    return RunResult(
        kind: strategy.kind, workload: workload, threads: threads, seconds: elapsed,
        perThreadOps: (0..<threads).map { countsBox.get($0) },
        statistics: strategy.statistics.snapshot,
        violations: state.violations.load(ordering: .relaxed))
}

/// Runs the contention loop specialized for the configured strategy's type.
struct ContentionVisitor: LockStrategyVisitor {
    var workload: Workload
    var threads: Int
    var seconds: Double
    func visit<S: LockStrategy>(_ strategy: S) -> RunResult {
        runContention(strategy, workload: workload, threads: threads, seconds: seconds)
    }
}

/// Per-thread operation counts, one cache line apart, written once per thread.
final class CountsBox: @unchecked Sendable {
    // @unchecked Sendable: each thread writes only its own slot, once, before
    // leaving the DispatchGroup; the reader reads after `group.wait()`.
    let buffer: UnsafeMutableBufferPointer<Int>
    init(_ b: UnsafeMutableBufferPointer<Int>) { buffer = b }
    func set(_ t: Int, _ v: Int) { buffer[t * 8] = v }
    func get(_ t: Int) -> Int { buffer[t * 8] }
}
