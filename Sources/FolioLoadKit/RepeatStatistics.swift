/// `folio-load run --repeat N`: one figure over the N repeats of a
/// (workload, strategy, threads) point — in the JSON report's `spread`,
/// keyed by the figure's field name (`opsPerSecond`, `latencyNs.p99`…).
public struct Spread: Codable, Sendable, Equatable {
    /// How many repeats the figure is over (N).
    public var repeats: Int
    /// The median: the middle value, or the mean of the two middle values
    /// when N is even.
    public var median: Double
    public var min: Double
    public var max: Double

    public init(repeats: Int, median: Double, min: Double, max: Double) {
        self.repeats = repeats
        self.median = median
        self.min = min
        self.max = max
    }

    /// The spread of `values` (nil when there are none).
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let n = sorted.count
        let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        self.init(repeats: n, median: median, min: sorted[0], max: sorted[n - 1])
    }
}

extension LoadResult {
    /// A numeric figure of a result: how to read it, and (for the stored
    /// fields) how to set the median into the combined result.
    struct Figure {
        let name: String
        let get: (LoadResult) -> Double?
        let set: ((inout LoadResult, Double) -> Void)?

        static func double(_ name: String, _ k: WritableKeyPath<LoadResult, Double>) -> Figure {
            Figure(name: name, get: { $0[keyPath: k] }, set: { $0[keyPath: k] = $1 })
        }
        static func double(_ name: String, _ k: WritableKeyPath<LoadResult, Double?>) -> Figure {
            Figure(name: name, get: { $0[keyPath: k] }, set: { $0[keyPath: k] = $1 })
        }
        static func count(_ name: String, _ k: WritableKeyPath<LoadResult, UInt64>) -> Figure {
            Figure(name: name, get: { Double($0[keyPath: k]) }, set: { $0[keyPath: k] = integer($1) })
        }
        static func count(_ name: String, _ k: WritableKeyPath<LoadResult, UInt64?>) -> Figure {
            Figure(name: name, get: { $0[keyPath: k].map(Double.init) }, set: { $0[keyPath: k] = integer($1) })
        }
        static func count(_ name: String, _ k: WritableKeyPath<LoadResult, Int?>) -> Figure {
            Figure(name: name, get: { $0[keyPath: k].map(Double.init) }, set: { $0[keyPath: k] = Int(integer($1)) })
        }
        /// An integer field holds the median rounded to the nearest integer
        /// (an even N's median can fall half-way); `spread` keeps it exact.
        static func integer(_ x: Double) -> UInt64 {
            let r = x.rounded()
            return r <= 0 ? 0 : r >= Double(UInt64.max) ? UInt64.max : UInt64(r)
        }
    }

    /// Every numeric figure of a result: the stored ones, then the derived
    /// `minOverMaxThreadOps` (the text table's "min/max ops").
    static var figures: [Figure] {
        var f: [Figure] = [
            .double("seconds", \.seconds), .count("operations", \.operations),
            .double("opsPerSecond", \.opsPerSecond), .double("megabytesPerSecond", \.megabytesPerSecond),
        ]
        let groups: [(String, WritableKeyPath<LoadResult, Percentiles>)] = [("latencyNs", \.latencyNs), ("lockWaitNs", \.lockWaitNs)]
        let percentiles: [(String, WritableKeyPath<Percentiles, UInt64>)] = [("p50", \.p50), ("p99", \.p99), ("p999", \.p999), ("max", \.max)]
        for (group, path) in groups {
            for (name, p) in percentiles {
                let k: WritableKeyPath<LoadResult, UInt64> = path.appending(path: p)
                f.append(.count("\(group).\(name)", k))
            }
        }
        f += [
            .count("minThreadOps", \.minThreadOps), .count("maxThreadOps", \.maxThreadOps), .double("jainIndex", \.jainIndex),
            .double("hitRatio", \.hitRatio), .count("misses", \.misses), .count("evictions", \.evictions),
            .count("slowAcquisitions", \.slowAcquisitions), .count("parks", \.parks), .count("handoffs", \.handoffs),
            .count("steals", \.steals), .count("maxOvertaken", \.maxOvertaken), .double("cpuSeconds", \.cpuSeconds),
            .count("collapses", \.collapses), .count("splits", \.splits), .count("readaheadFolios", \.readaheadFolios),
            .count("compressedFolios", \.compressedFolios), .count("logicalBytes", \.logicalBytes),
            .count("residentBytes", \.residentBytes), .double("effectiveCapacity", \.effectiveCapacity),
            .count("checksumFailures", \.checksumFailures),
            Figure(name: "minOverMaxThreadOps", get: { $0.maxThreadOps == 0 ? nil : Double($0.minThreadOps) / Double($0.maxThreadOps) }, set: nil),
        ]
        return f
    }

    /// The N repeats of one point as one result: every numeric field holds
    /// its median over the repeats and `spread` its median, min and max
    /// (a figure some repeat lacks — nil — is left as the median run has
    /// it, without a spread). The rest comes from the *median run* (the
    /// repeat whose `opsPerSecond` is nearest the median, the earliest on a
    /// tie): `perThreadOps`, `threadRoles`, `collapseAborts`; `countsAddUp`
    /// holds if it holds in every repeat, and `verification` is the first
    /// failure of any repeat. One repeat is returned unchanged.
    static func combining(_ runs: [LoadResult]) -> LoadResult {
        guard let first = runs.first else { preconditionFailure("combining no runs") }
        guard runs.count > 1 else { return first }
        let medianOps = Spread(runs.map(\.opsPerSecond))?.median ?? first.opsPerSecond
        var best = 0
        for (i, r) in runs.enumerated() where abs(r.opsPerSecond - medianOps) < abs(runs[best].opsPerSecond - medianOps) { best = i }
        var out = runs[best]
        var spread: [String: Spread] = [:]
        for figure in figures {
            let values = runs.compactMap(figure.get)
            guard values.count == runs.count, let s = Spread(values) else { continue }
            spread[figure.name] = s
            figure.set?(&out, s.median)
        }
        out.countsAddUp = runs.allSatisfy(\.countsAddUp)
        if let failed = runs.first(where: { $0.verification?.hasPrefix("failed") == true }) { out.verification = failed.verification }
        out.repeats = runs.count
        out.spread = spread
        return out
    }
}
