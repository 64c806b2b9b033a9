import Foundation

/// Zipf-distributed ranks 0..<n (rank k with probability ∝ 1/(k+1)^skew),
/// sampled from a uniform `u` in [0, 1) by a binary search of the cumulative
/// distribution — the load tool's workload, for tests that drive the engine
/// with it.
public struct ZipfSampler: Sendable {
    let cdf: [Double]

    public init(n: Int, skew: Double) {
        var c = [Double](repeating: 0, count: max(1, n))
        var sum = 0.0
        for k in 0..<c.count {
            sum += 1 / pow(Double(k + 1), skew)
            c[k] = sum
        }
        cdf = c.map { $0 / sum }
    }

    public func sample(_ u: Double) -> Int {
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension SplitMix64 {
    /// A uniform double in [0, 1).
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / Double(UInt64(1) << 53)) }
}
