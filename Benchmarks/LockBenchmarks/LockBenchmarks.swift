// Uncontended lock costs: each iteration runs 1000 acquire + release pairs on
// one thread (`scalingFactor: .kilo`, so `benchmark.scaledIterations` is
// 0..<1000), which makes loop and measurement overhead negligible. The tool
// prints counts and times per pair (the `*` after the unit); `--scale` prints
// them per 1000-pair iteration instead.
//
//     cd Benchmarks && swift package benchmark --no-progress
//
// Three groups, all in the same run so the ratios are meaningful:
//   1. baselines: a bare CAS-acquire / release-store pair (the physical floor of
//      any lock), the same with a second atomic read-modify-write to release
//      (CAS, `lock xadd`, checked subtract), `Synchronization.Mutex`, a pthread
//      mutex, and the cost of `Folio.lockKey` alone;
//   2. FolioLocks primitives: BitLock, HybridLock, ReaderWriterLock, RangeLock;
//   3. FolioCache strategies, called the way the engine calls them.
// A fourth, small group counts mallocs and retains/releases for the same loops:
// the fast paths must not allocate and should not touch reference counts.

import Benchmark
@_spi(FolioInternals) import FolioCache
import FolioLocks
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Fixtures

/// An atomic word in a final class, as a folio or any other owner keeps it.
final class WordBox: Sendable {
    let word = Atomic<UInt64>(0)
    var key: UInt { UInt(bitPattern: ObjectIdentifier(self).hashValue) }
}

/// `Synchronization.Mutex` stored in a final class, as a cache would keep it.
final class MutexBox: Sendable {
    let mutex = Mutex<Int>(0)
}

/// A `pthread_mutex_t` at a stable address (never moved after init).
final class PthreadMutexBox: @unchecked Sendable {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
}

// MARK: - Loops (shared by the timing and the allocation/ARC benchmarks)

@inline(__always)
func bareCASPairs(_ benchmark: Benchmark, _ box: WordBox) {
    for _ in benchmark.scaledIterations {
        _ = box.word.compareExchange(expected: 0, desired: 1, ordering: .acquiring)
        box.word.store(0, ordering: .releasing)
    }
}

@inline(__always)
func bitLockPairs(_ benchmark: Benchmark, _ box: WordBox, _ lot: ParkingLot) {
    let key = box.key
    for _ in benchmark.scaledIterations {
        BitLock.lock(box.word, key: key, lot: lot)
        BitLock.unlock(box.word, key: key, lot: lot)
    }
}

@inline(__always)
func folioPairs<S: LockStrategy>(_ benchmark: Benchmark, _ strategy: S, _ folio: Folio) {
    for _ in benchmark.scaledIterations {
        strategy.lockFolio(folio)
        strategy.unlockFolio(folio)
    }
}

@inline(__always)
func pagesPairs<S: LockStrategy>(_ benchmark: Benchmark, _ strategy: S, _ mapping: S.MappingLock) {
    let pages = PageIndex(0)..<PageIndex(1)
    for _ in benchmark.scaledIterations {
        let g = strategy.lockPages(pages, .exclusive, in: mapping)
        strategy.unlockPages(g, in: mapping)
    }
}

/// The run-time-chosen path: `LockStrategyConfiguration.makeStrategy()` returns
/// `any LockStrategy`; opening it calls this generic function once per 1000
/// pairs. The compiler cannot specialize it for a type known only at run time,
/// so each pair makes two indirect witness-table calls.
func folioPairsOpened<S: LockStrategy>(_ strategy: S, _ benchmark: Benchmark, _ folio: Folio) {
    folioPairs(benchmark, strategy, folio)
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    let timing = Benchmark.Configuration(
        metrics: [.wallClock, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 100_000)
    // Malloc and ARC counters are measured apart from timing (the counting
    // hooks cost time themselves) and over fewer iterations.
    let counting = Benchmark.Configuration(
        metrics: [.mallocCountTotal, .retainCount, .releaseCount],
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 100)

    // 1. Baselines ------------------------------------------------------------

    Benchmark("Baseline: bare CAS acquire + store release", configuration: timing) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        bareCASPairs(benchmark, box)
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    // Two locked read-modify-writes per pair: the floor of any lock whose
    // unlock must atomically check for waiters (Mutex, HybridLock, RW lock).
    Benchmark("Baseline: CAS acquire + CAS release", configuration: timing) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = box.word.compareExchange(expected: 0, desired: 1, ordering: .acquiring)
            _ = box.word.compareExchange(expected: 1, desired: 0, ordering: .releasing)
        }
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    // The shape of HybridLock and ReaderWriterLock: each side loads the word
    // (other bits belong to the owner), then CASes from what it saw.
    Benchmark("Baseline: load + CAS acquire, load + CAS release", configuration: timing) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            var s = box.word.load(ordering: .relaxed)
            while true {
                let (ok, current) = box.word.weakCompareExchange(
                    expected: s, desired: s | 1, successOrdering: .acquiring, failureOrdering: .relaxed)
                if ok { break }
                s = current
            }
            s = box.word.load(ordering: .relaxed)
            while true {
                let (ok, current) = box.word.weakCompareExchange(
                    expected: s, desired: s & ~1, successOrdering: .releasing, failureOrdering: .relaxed)
                if ok { break }
                s = current
            }
        }
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    // The BitLock design: CAS to lock, one `lock xadd` to unlock.
    Benchmark("Baseline: CAS acquire + wrappingSubtract release (lock xadd)", configuration: timing) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = box.word.compareExchange(expected: 0, desired: 1, ordering: .acquiring)
            _ = box.word.wrappingSubtract(1, ordering: .releasing)
        }
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    // `Atomic.subtract` traps on overflow, so it compiles to a load + CAS loop
    // with an overflow check rather than to `lock xadd`.
    Benchmark("Baseline: CAS acquire + checked subtract release (CAS loop)", configuration: timing) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = box.word.compareExchange(expected: 0, desired: 1, ordering: .acquiring)
            _ = box.word.subtract(1, ordering: .releasing)
        }
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    // The per-page strategies pass the folio's lock key — its address,
    // `Folio.lockKey` inside the package — to every lock and unlock, fast
    // path included; this is what computing it costs on its own.
    Benchmark("Folio.lockKey (ObjectIdentifier.hashValue)", configuration: timing) { benchmark in
        let folio = Folio(index: PageIndex(0))
        var sum: UInt = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            sum &+= UInt(bitPattern: Unmanaged.passUnretained(folio).toOpaque())
        }
        benchmark.stopMeasurement()
        blackHole(sum)
    }

    Benchmark("Baseline: Synchronization.Mutex withLock", configuration: timing) { benchmark in
        let box = MutexBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            box.mutex.withLock { $0 &+= 1 }
        }
        benchmark.stopMeasurement()
        blackHole(box.mutex.withLock { $0 })
    }

    Benchmark("Baseline: pthread mutex lock + unlock", configuration: timing) { benchmark in
        let box = PthreadMutexBox()
        let m = box.mutex
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            pthread_mutex_lock(m)
            pthread_mutex_unlock(m)
        }
        benchmark.stopMeasurement()
        blackHole(box)
    }

    // 2. FolioLocks primitives -----------------------------------------------

    Benchmark("BitLock lock + unlock (uncontended)", configuration: timing) { benchmark in
        let box = WordBox()
        let lot = ParkingLot.shared
        benchmark.startMeasurement()
        bitLockPairs(benchmark, box, lot)
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    Benchmark("HybridLock lock + unlock, hybrid policy (uncontended)", configuration: timing) { benchmark in
        let box = WordBox()
        let lot = ParkingLot.shared
        let key = box.key
        let policy = HybridLockPolicy.hybrid
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            HybridLock.lock(box.word, key: key, lot: lot, policy: policy)
            HybridLock.unlock(box.word, key: key, lot: lot, policy: policy)
        }
        benchmark.stopMeasurement()
        blackHole(box.word.load(ordering: .relaxed))
    }

    Benchmark("ReaderWriterLock exclusive lock + unlock (uncontended)", configuration: timing) { benchmark in
        let rw = ReaderWriterLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            rw.lock(.exclusive)
            rw.unlock(.exclusive)
        }
        benchmark.stopMeasurement()
        blackHole(rw)
    }

    Benchmark("ReaderWriterLock shared lock + unlock (uncontended)", configuration: timing) { benchmark in
        let rw = ReaderWriterLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            rw.lock(.shared)
            rw.unlock(.shared)
        }
        benchmark.stopMeasurement()
        blackHole(rw)
    }

    Benchmark("RangeLock exclusive 0..<1 lock + unlock (uncontended)", configuration: timing) { benchmark in
        let rl = RangeLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let t = rl.lock(0..<1, .exclusive)
            rl.unlock(t)
        }
        benchmark.stopMeasurement()
        blackHole(rl)
    }

    Benchmark("RangeLock shared 0..<1 lock + unlock (uncontended)", configuration: timing) { benchmark in
        let rl = RangeLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let t = rl.lock(0..<1, .shared)
            rl.unlock(t)
        }
        benchmark.stopMeasurement()
        blackHole(rl)
    }

    // 3. FolioCache strategies -----------------------------------------------

    Benchmark("ShortLock lock + unlock (uncontended)", configuration: timing) { benchmark in
        let lock = ShortLock()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            lock.lock()
            lock.unlock()
        }
        benchmark.stopMeasurement()
        blackHole(lock)
    }

    Benchmark("PerPageBit lockFolio + unlockFolio (uncontended)", configuration: timing) { benchmark in
        let strategy = PerPageBitLocking()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("HybridFair lockFolio + unlockFolio (uncontended)", configuration: timing) { benchmark in
        let strategy = HybridFairLocking()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("Fair lockFolio + unlockFolio (uncontended)", configuration: timing) { benchmark in
        let strategy = HybridFairLocking.fair()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("Barging lockFolio + unlockFolio (uncontended)", configuration: timing) { benchmark in
        let strategy = HybridFairLocking.barging()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("PerInode lockPages + unlockPages, exclusive (uncontended)", configuration: timing) { benchmark in
        let strategy = PerInodeLocking()
        let mapping = strategy.makeMappingLock()
        benchmark.startMeasurement()
        pagesPairs(benchmark, strategy, mapping)
        benchmark.stopMeasurement()
        blackHole(mapping)
    }

    Benchmark("PerRange lockPages + unlockPages, exclusive (uncontended)", configuration: timing) { benchmark in
        let strategy = PerRangeLocking()
        let mapping = strategy.makeMappingLock()
        benchmark.startMeasurement()
        pagesPairs(benchmark, strategy, mapping)
        benchmark.stopMeasurement()
        blackHole(mapping)
    }

    Benchmark("PerPageBit lockFolio + unlockFolio via any LockStrategy (uncontended)", configuration: timing) { benchmark in
        let strategy: any LockStrategy = LockStrategyConfiguration(kind: .perPageBit).makeStrategy()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairsOpened(strategy, benchmark, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    // 4. Allocations and ARC on the fast paths -------------------------------

    Benchmark("Allocations + ARC: bare CAS acquire + store release", configuration: counting) { benchmark in
        let box = WordBox()
        blackHole(box)  // keep it a heap object, as in real use
        benchmark.startMeasurement()
        bareCASPairs(benchmark, box)
        benchmark.stopMeasurement()
        blackHole(box)
    }

    Benchmark("Allocations + ARC: BitLock lock + unlock", configuration: counting) { benchmark in
        let box = WordBox()
        let lot = ParkingLot.shared
        benchmark.startMeasurement()
        bitLockPairs(benchmark, box, lot)
        benchmark.stopMeasurement()
        blackHole(box)
    }

    Benchmark("Allocations + ARC: PerPageBit lockFolio + unlockFolio", configuration: counting) { benchmark in
        let strategy = PerPageBitLocking()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("Allocations + ARC: HybridFair lockFolio + unlockFolio", configuration: counting) { benchmark in
        let strategy = HybridFairLocking()
        let folio = Folio(index: PageIndex(0))
        benchmark.startMeasurement()
        folioPairs(benchmark, strategy, folio)
        benchmark.stopMeasurement()
        blackHole(folio)
    }

    Benchmark("Allocations + ARC: PerInode lockPages + unlockPages", configuration: counting) { benchmark in
        let strategy = PerInodeLocking()
        let mapping = strategy.makeMappingLock()
        benchmark.startMeasurement()
        pagesPairs(benchmark, strategy, mapping)
        benchmark.stopMeasurement()
        blackHole(mapping)
    }

    Benchmark("Allocations + ARC: PerRange lockPages + unlockPages", configuration: counting) { benchmark in
        let strategy = PerRangeLocking()
        let mapping = strategy.makeMappingLock()
        benchmark.startMeasurement()
        pagesPairs(benchmark, strategy, mapping)
        benchmark.stopMeasurement()
        blackHole(mapping)
    }
}
