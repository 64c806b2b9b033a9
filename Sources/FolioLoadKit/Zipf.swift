#if canImport(Glibc)
import Glibc
#endif

/// Zipf-distributed ranks 0..<n with exponent `skew` (0 = uniform): the
/// probability of rank k is proportional to 1 / (k + 1)^skew. Sampled by a
/// binary search in the precomputed cumulative distribution. Public for the
/// engine's tests that drive the cache with the tool's workload.
public struct Zipf: Sendable {
    let cdf: [Double]

    public init(n: Int, skew: Double) {
        var c = [Double](repeating: 0, count: max(1, n))
        var sum = 0.0
        for k in 0..<c.count {
            sum += 1 / pow(Double(k + 1), skew)
            c[k] = sum
        }
        for k in 0..<c.count { c[k] /= sum }
        cdf = c
    }

    public func sample(_ rng: inout SplitMix) -> Int {
        let u = rng.nextDouble()
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// SplitMix64: a small, fast, seedable generator (one per thread).
public struct SplitMix: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / Double(1 << 53)) }
}
