/// The stamped records `folio-crash-writer` writes and the process-crash
/// test verifies: record `n` of a run with `seed` sits at `n * size`, and
/// every byte of it is a function of (seed, n), so a record that is torn,
/// stale, shifted or another run's is found by comparing it whole.
public enum CrashRecord {
    public static let size = 700  // not a divisor of any page size: records straddle pages

    public static func bytes(seed: UInt64, number n: Int) -> [UInt8] {
        var rng = SplitMix64(seed: seed ^ (UInt64(n) &* 0x9E37_79B9_7F4A_7C15))
        var out = [UInt8](repeating: 0, count: size)
        // A readable header first: "REC" and the record number.
        let header = Array("REC\(n):".utf8)
        for i in 0..<min(header.count, size) { out[i] = header[i] }
        var i = header.count
        while i < size {
            let word = rng.next()
            for k in 0..<8 where i + k < size { out[i + k] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(k))) }
            i += 8
        }
        return out
    }
}
