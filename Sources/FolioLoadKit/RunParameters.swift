import FolioCache
import FolioLocks

/// Everything one `run` needs, resolved and validated (from the command
/// line, a job-file section, or a test).
public struct RunParameters: Sendable {
    public var workloads: [Workload] = [.hammer, .zipf]
    public var engines: [EngineSpec] = EngineSpec.all
    public var threads: [Int] = [1, 2, 8]
    /// Measured time per (workload, engine, threads); nil when `operations`
    /// is set.
    public var duration: Duration? = .milliseconds(500)
    /// Operations per thread instead of a duration.
    public var operations: Int? = nil
    /// Runs of every (workload, engine, threads) point (`--repeat`): with
    /// more than one, the engines run interleaved and the report holds
    /// medians and ranges.
    public var repeats: Int = 1
    public static let maxRepeats = 1000
    /// Excluded from the statistics.
    public var warmup: Duration = .milliseconds(100)
    public var fileSize: Int = 32 << 20
    public var workingSet: Int = 8 << 20
    /// The cache: page size, capacity, eviction policy, fault-around.
    public var cache = PageCacheConfiguration()
    /// Tunables of the lock strategies (the kind is replaced per engine).
    public var lock = LockStrategyConfiguration(kind: .hybridFair)
    public var zipfSkew: Double = 0.99
    public var readRatio: Double = 0.8
    public var files: Int = 4
    public var tracePath: String? = nil
    public var seed: UInt64 = 0x5EED
    /// Where the test files go (a fresh directory under it per run).
    public var directory: String? = nil
    /// What the test files hold (and the writing workloads write);
    /// truncate-race's files are always stamped pages.
    public var data: DataKind = .pattern

    public init() {}

    public var pageSize: Int { cache.pageSize }
    var filePages: Int { max(1, fileSize / pageSize) }
    var workingSetPages: Int { max(1, min(workingSet, fileSize) / pageSize) }

    /// The parameters as `flag: value` strings (for reports).
    public var described: [String: String] {
        var d: [String: String] = [
            "workload": workloads.map(\.rawValue).joined(separator: ","),
            "strategy": engines.map(\.description).joined(separator: ","),
            "threads": threads.map(String.init).joined(separator: ","),
            "warmup": "\(warmup)",
            "file-size": String(fileSize),
            "working-set": String(workingSet),
            "page-size": String(cache.pageSize),
            "capacity": String(cache.capacity),
            "eviction": cache.evictionPolicy.rawValue,
            "fault-around": String(cache.faultAroundPages),
            "max-folio-order": String(cache.maxFolioOrder),
            "compression": cache.compression.enabled ? "on" : "off",
            "optimistic-reads": cache.optimisticReads ? "on" : "off",
            "data": data.rawValue,
            "spin-limit": String(lock.hybridPolicy.spinLimit),
            "unfairness": String(lock.hybridPolicy.unfairness),
            "max-spinners": lock.hybridPolicy.maxSpinners.map(String.init) ?? "none",
            "max-wait": lock.hybridPolicy.maxWait.map { "\($0)" } ?? "none",
            "single-waker": lock.hybridPolicy.singleWaker ? "on" : "off",
            "handoff-yield": lock.hybridPolicy.yieldOnHandoff ? "on" : "off",
            "handoff-spin": String(lock.hybridPolicy.handoffSpin),
            "restrict-spin": String(lock.hybridPolicy.restrictSpin),
            "zipf-skew": String(zipfSkew),
            "read-ratio": String(readRatio),
            "files": String(files),
            "seed": String(seed),
        ]
        if let duration { d["duration"] = "\(duration)" }
        if let operations { d["ops"] = String(operations) }
        if repeats > 1 { d["repeat"] = String(repeats) }
        if let tracePath { d["trace"] = tracePath }
        if data == .text, case .success(let corpus) = TextCorpus.shared {
            d["data-corpus"] = "\(corpus.bytes.count) bytes, FNV-1a 64 \(FNV1a64.hex(FNV1a64.hash(corpus.bytes)))"
        }
        return d
    }

    /// Checks what the command line cannot.
    public func validate() throws(LoadError) {
        // (With a bad page size, `cache.validate()` below names that first.)
        let maxOrder = PageCacheConfiguration.maxFolioOrder(pageSize: cache.pageSize)
        let pageSizeOK = cache.pageSize > 0 && cache.pageSize & (cache.pageSize - 1) == 0
        guard !pageSizeOK || (cache.maxFolioOrder >= 0 && cache.maxFolioOrder <= maxOrder) else {
            throw .badArgument("--max-folio-order \(cache.maxFolioOrder): allowed: 0 to \(maxOrder) with \(cache.pageSize)-byte pages (folios of at most \(PageCacheConfiguration.maxFolioBytes) bytes)")
        }
        do throws(FolioError) { try cache.validate() } catch { throw .badArgument("cache configuration: \(error)") }
        guard !workloads.isEmpty else { throw .badArgument("--workload: nothing to run") }
        guard !engines.isEmpty else { throw .badArgument("--strategy: nothing to run") }
        guard !threads.isEmpty else { throw .badArgument("--threads: nothing to run") }
        guard fileSize >= pageSize, fileSize <= 1 << 40 else {
            throw .badArgument("--file-size \(fileSize): must be at least one page (\(pageSize) bytes) and at most 1 TiB")
        }
        guard fileSize % pageSize == 0 else {
            throw .badArgument("--file-size \(fileSize): must be a multiple of the page size (\(pageSize) bytes)")
        }
        guard workingSet >= pageSize else { throw .badArgument("--working-set \(workingSet): must be at least one page (\(pageSize) bytes)") }
        guard zipfSkew >= 0, zipfSkew <= 10 else { throw .badArgument("--zipf-skew \(zipfSkew): must be from 0 to 10") }
        guard readRatio >= 0, readRatio <= 1 else { throw .badArgument("--read-ratio \(readRatio): must be from 0 to 1") }
        guard files >= 1, files <= 1024 else { throw .badArgument("--files \(files): must be from 1 to 1024") }
        guard repeats >= 1, repeats <= Self.maxRepeats else {
            throw .badArgument("--repeat \(repeats): expected a whole number of runs from 1 to \(Self.maxRepeats)")
        }
        if let operations, operations < 1 { throw .badArgument("--ops \(operations): must be at least 1") }
        if let duration, duration <= .zero { throw .badArgument("--duration: must be positive") }
        for w in workloads {
            if let why = w.unavailableReason { throw .unavailable(why) }
            if w == .replay && tracePath == nil { throw .badArgument("--workload replay needs --trace FILE") }
            if w == .truncateRace, let lo = threads.min(), lo < 3 {
                throw .badArgument("--workload truncate-race needs at least 3 threads (a mover, a truncater, readers); got \(lo)")
            }
            if w == .collapseChurn, let lo = threads.min(), lo < 4 {
                throw .badArgument("--workload collapse-churn needs at least 4 threads (a collapser, a truncater, a reader, a writer); got \(lo)")
            }
            if w == .collapseChurn, cache.maxFolioOrder < 1, engines.contains(where: { if case .folio = $0 { true } else { false } }) {
                throw .badArgument("--workload collapse-churn needs --max-folio-order 1 or more (folios of one page cannot be collapsed)")
            }
            if w == .rangeWriters, let hi = threads.max(), hi > filePages {
                throw .badArgument("--workload range-writers: \(hi) threads need at least \(hi) pages (one range each); the file has \(filePages)")
            }
            if w == .hitDistinct, let hi = threads.max(), hi > filePages {
                throw .badArgument("--workload hit-distinct: \(hi) threads need at least \(hi) pages (one each); the file has \(filePages)")
            }
            if w == .hammer, let hi = threads.max(), hi > pageSize / 8 {
                throw .badArgument("--workload hammer: at most \(pageSize / 8) threads with \(pageSize)-byte pages (each writes its own 8 bytes)")
            }
        }
    }
}
