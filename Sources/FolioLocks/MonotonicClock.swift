import CFolioShims

/// Monotonic nanoseconds, read without Foundation or allocation. Used for the
/// hybrid lock's wait bound and for wait statistics; never on a fast path.
public enum MonotonicClock {
    /// Nanoseconds of `CLOCK_MONOTONIC` (since an unspecified start, usually boot).
    @inlinable public static func nanoseconds() -> UInt64 { folio_monotonic_ns() }
}

extension Duration {
    /// This duration in whole nanoseconds, clamped to `0...UInt64.max`.
    @inlinable var clampedNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        // Negative durations (including sub-second ones, whose seconds
        // component rounds to 0) mean "no time".
        if seconds < 0 || attoseconds < 0 { return 0 }
        let (s, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (total, overflow2) = s.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? .max : total
    }
}
