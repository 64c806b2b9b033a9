import Synchronization

/// A histogram of slow-path lock waits in nanoseconds, cheap enough to update
/// on every slow acquisition from any thread: log-linear buckets (8 per power
/// of two, so a bucket's bounds are within 12.5 % of each other) of relaxed
/// atomic counters, no allocation after creation. Percentiles are reported as
/// the upper bound of the bucket that holds them.
public final class WaitHistogram: @unchecked Sendable {
    // @unchecked Sendable: the counters are only accessed through atomic
    // operations on their raw words (RawAtomic64 / CFolioShims).

    static let subBits = 3
    static let subBuckets = 1 << subBits
    /// Bucket count: values below 8 get one bucket each; then 8 per octave up
    /// to 2^64.
    public static let bucketCount = (64 - subBits + 1) * subBuckets

    let counts: UnsafeMutablePointer<UInt64>

    /// An empty histogram (its buckets allocated once, here).
    public init() {
        counts = .allocate(capacity: WaitHistogram.bucketCount)
        counts.initialize(repeating: 0, count: WaitHistogram.bucketCount)
    }

    deinit { counts.deallocate() }

    /// The bucket of a value.
    static func bucket(_ v: UInt64) -> Int {
        if v < UInt64(subBuckets) { return Int(v) }
        let top = 63 - v.leadingZeroBitCount          // position of the highest set bit (≥ subBits)
        let sub = Int((v >> UInt64(top - subBits)) & UInt64(subBuckets - 1))
        return (top - subBits + 1) * subBuckets + sub
    }

    /// The largest value that falls into bucket `b`.
    static func upperBound(_ b: Int) -> UInt64 {
        if b < subBuckets { return UInt64(b) }
        let top = b / subBuckets + subBits - 1
        let sub = UInt64(b % subBuckets)
        let low = (UInt64(subBuckets) | sub) << UInt64(top - subBits)
        let width: UInt64 = 1 << UInt64(top - subBits)
        return low &+ (width &- 1)
    }

    /// Records one wait.
    public func record(_ nanoseconds: UInt64) {
        RawAtomic64.fetchAddRelaxed(counts + WaitHistogram.bucket(nanoseconds), 1)
    }

    /// Sets every count to zero (racy against concurrent `record`s, which may
    /// land on either side; fine for starting a measurement).
    public func reset() {
        for b in 0..<WaitHistogram.bucketCount { RawAtomic64.storeRelaxed(counts + b, 0) }
    }

    /// A copy of the counts.
    public var snapshot: Snapshot {
        Snapshot(counts: (0..<WaitHistogram.bucketCount).map { RawAtomic64.loadRelaxed(counts + $0) })
    }

    /// A plain-value copy of the histogram's counts (`WaitHistogram.snapshot`).
    public struct Snapshot: Sendable, Equatable {
        /// The count of each bucket, `WaitHistogram.bucketCount` of them, lowest first.
        public var counts: [UInt64]

        /// The number of waits recorded (the sum of the counts, wrapping).
        public var total: UInt64 { counts.reduce(0, &+) }

        /// The value at `percentile` (0–100): the upper bound of the bucket
        /// holding it; 0 when nothing was recorded.
        public func value(atPercentile percentile: Double) -> UInt64 {
            let n = total
            guard n > 0 else { return 0 }
            let p = Swift.min(Swift.max(percentile, 0), 100)
            let rank = Swift.max(1, UInt64((Double(n) * p / 100).rounded(.up)))
            var seen: UInt64 = 0
            for (b, c) in counts.enumerated() {
                seen &+= c
                if seen >= rank { return WaitHistogram.upperBound(b) }
            }
            return WaitHistogram.upperBound(counts.count - 1)
        }

        /// The upper bound of the highest non-empty bucket.
        public var maximum: UInt64 {
            guard let b = counts.lastIndex(where: { $0 > 0 }) else { return 0 }
            return WaitHistogram.upperBound(b)
        }
    }
}
