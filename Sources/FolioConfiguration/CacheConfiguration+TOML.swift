import FolioCache
import FolioLocks

extension CacheConfiguration {
    /// This configuration as a TOML file with every key (what `folio-config
    /// show` prints). Loading it gives this configuration back.
    public var tomlText: String {
        let p = lock.hybridPolicy
        var lines = ["[lock]", "strategy = \"\(lock.kind)\"", "spin-limit = \(p.spinLimit)"]
        lines.append("unfairness = " + (p.unfairness == HybridLockPolicy.unbounded ? "\"unbounded\"" : String(p.unfairness)))
        lines.append("max-wait = \"" + (p.maxWait.map(Units.formatDuration) ?? "unbounded") + "\"")
        lines.append("max-spinners = " + (p.maxSpinners.map(String.init) ?? "\"unbounded\""))
        lines.append("single-waker = \(p.singleWaker)")
        lines.append("handoff-yield = \(p.yieldOnHandoff)")
        lines.append("handoff-spin = \(p.handoffSpin)")
        lines.append("restrict-spin = \(p.restrictSpin)")
        if let buckets = lock.waitTableBuckets { lines.append("wait-table-buckets = \(buckets)") }
        lines += [
            "", "[cache]",
            "capacity = \"\(Units.formatSize(cache.capacity))\"",
            "page-size = \"\(Units.formatSize(cache.pageSize))\"",
            "max-folio-order = \(cache.maxFolioOrder)",
            "eviction = \"\(cache.evictionPolicy.rawValue)\"",
            "fault-around-pages = \(cache.faultAroundPages)",
            "optimistic-reads = \(cache.optimisticReads)",
            "", "[compression]",
            "enabled = \(cache.compression.enabled)",
            "min-saving = \(cache.compression.minimumSaving)",
            "max-share = \(cache.compression.maximumShare)",
            "keep-compressed-copy = \(cache.compression.keepCompressedCopy)",
            "collapse-interval = \"\(Units.formatDuration(cache.compression.collapseInterval))\"",
            "", "[writeback]",
            "interval = \"" + (cache.writebackInterval.map(Units.formatDuration) ?? "off") + "\"",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
