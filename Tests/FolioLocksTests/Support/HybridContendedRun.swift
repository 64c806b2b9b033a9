import FolioLocks
import FolioTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One hybrid lock under contention, as the time-bound tests run it:
/// `threads` threads each take it `iterations` times around an unprotected
/// increment, every `sleepEvery`-th critical section sleeping
/// `sleepMicroseconds` inside the lock (so that waiters park long enough for
/// a time bound to fire). The caller checks what it needs of the result.
struct HybridContendedRun {
    /// Whether every thread finished within 120 s (false: a lost wake-up).
    let finished: Bool
    /// The increments counted (anything but `threads × iterations`: two
    /// owners at once).
    let count: Int
    /// The lock word's bits after the run.
    let bits: UInt64
    let statistics: LockStatistics.Snapshot

    init(policy: HybridLockPolicy, threads: Int, iterations: Int, sleepEvery: Int, sleepMicroseconds: UInt32) {
        let lot = ParkingLot(bucketCount: 1)
        let stats = LockStatistics()
        let w = TestWord()
        let counter = UnprotectedCounter()
        finished = finishes(within: 120) {
            runThreads(threads) { _ in
                for i in 0..<iterations {
                    HybridLock.lock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                    counter.value += 1
                    if i % sleepEvery == sleepEvery - 1 { usleep(sleepMicroseconds) }
                    HybridLock.unlock(w.word, key: w.key, lot: lot, policy: policy, statistics: stats)
                }
            }
        }
        count = counter.value
        bits = w.bits
        statistics = stats.snapshot
    }
}
