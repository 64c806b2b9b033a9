import Foundation

/// A tiny seeded generator (SplitMix64) so randomized tests replay exactly
/// from the seed they print.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The seed for a randomized test: `FOLIO_SEED` if set (to replay a failure),
/// else a fresh random one. Always print it.
public func testSeed() -> UInt64 {
    if let s = ProcessInfo.processInfo.environment["FOLIO_SEED"], let v = UInt64(s) { return v }
    return UInt64.random(in: 1...UInt64.max)
}
