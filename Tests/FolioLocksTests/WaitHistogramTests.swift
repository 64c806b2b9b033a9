@testable import FolioLocks
import Testing

@Suite struct WaitHistogramTests {
    /// Every value lies in its bucket's range, buckets are contiguous and
    /// increasing, and a bucket is at most 12.5 % wide.
    @Test func bucketsCoverEveryValueTightly() {
        var previousUpper: UInt64? = nil
        for b in 0..<WaitHistogram.bucketCount {
            let upper = WaitHistogram.upperBound(b)
            let lower = previousUpper.map { $0 + 1 } ?? 0
            #expect(WaitHistogram.bucket(lower) == b && WaitHistogram.bucket(upper) == b, "bucket \(b): \(lower)...\(upper)")
            if lower >= 8 { #expect(Double(upper - lower + 1) / Double(lower) <= 0.125 + 1e-12, "bucket \(b) too wide") }
            previousUpper = upper
            if upper == UInt64.max { break }
        }
        #expect(previousUpper == UInt64.max, "the buckets reach UInt64.max")
        for v: UInt64 in [0, 1, 7, 8, 9, 15, 16, 1000, 123_456_789, UInt64.max / 3, UInt64.max] {
            let b = WaitHistogram.bucket(v)
            #expect(WaitHistogram.upperBound(b) >= v && (b == 0 || WaitHistogram.upperBound(b - 1) < v), "\(v)")
        }
    }

    @Test func percentilesAndReset() {
        let h = WaitHistogram()
        #expect(h.snapshot.value(atPercentile: 50) == 0 && h.snapshot.maximum == 0)
        for v in 1...100 { h.record(UInt64(v) * 1000) }  // 1 µs … 100 µs
        let s = h.snapshot
        #expect(s.total == 100)
        let p50 = s.value(atPercentile: 50), p99 = s.value(atPercentile: 99)
        #expect(p50 >= 50_000 && Double(p50) <= 50_000 * 1.125, "p50 \(p50)")
        #expect(p99 >= 99_000 && Double(p99) <= 99_000 * 1.125, "p99 \(p99)")
        #expect(s.maximum >= 100_000 && Double(s.maximum) <= 100_000 * 1.125)
        h.reset()
        #expect(h.snapshot.total == 0)
    }

    /// Lock statistics record every slow-path wait into the histogram, and
    /// `reset` clears every counter.
    @Test func lockStatisticsFeedIt() {
        let stats = LockStatistics()
        stats.recordAcquired(lostRaces: 2, since: MonotonicClock.nanoseconds())
        stats.recordAcquired(lostRaces: 0, since: MonotonicClock.nanoseconds())
        #expect(stats.waits.snapshot.total == 2)
        #expect(stats.snapshot.slowAcquisitions == 2 && stats.snapshot.maxLostRaces == 2)
        stats.reset()
        #expect(stats.snapshot == LockStatistics().snapshot)
        #expect(stats.waits.snapshot.total == 0)
    }
}
