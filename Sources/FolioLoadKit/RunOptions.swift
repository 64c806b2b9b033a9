import ArgumentParser
import FolioCache
import FolioConfiguration
import FolioLocks

/// The options of `folio-load run` that describe what to measure. Job-file
/// keys are these flags without the leading `--`. Every option is optional so
/// that precedence is explicit: built-in defaults < `--config FILE` < flags.
public struct RunOptions: ParsableArguments, Sendable {
    @Option(help: "Workloads, comma-separated: \(Workload.allCases.map(\.rawValue).joined(separator: ", ")). Default: hammer,zipf.")
    public var workload: String?

    @Option(help: "Engines, comma-separated: per-page-bit, hybrid-fair, hybrid-fair@N (unfairness N), fair, barging, per-inode, per-range, os, mutex-dict, or all. Default: all (or the --config file's strategy).")
    public var strategy: String?

    @Option(help: "Thread counts: a list (1,2,4,8) or a sweep (1:16:x2, 2:8:+2). Default: 1,2,8.")
    public var threads: String?

    @Option(help: "Measured time per run, with a unit (500ms, 2s). Default: 500ms.")
    public var duration: String?

    // `.unconditional`: `--repeat -1` is a bad count (our error), not a flag.
    @Option(name: .customLong("repeat"), parsing: .unconditional,
            help: ArgumentHelp("Repeat every (workload, threads) point N times, the engines interleaved (A B C A B C …), and report each figure's median and [min–max] (1).", valueName: "N"))
    public var repeats: String?

    @Option(help: "Operations per thread instead of a duration.")
    public var ops: Int?

    @Option(help: "Warm-up per run, excluded from the statistics (100ms; 0 for none: the measured operations start on a cold cache).")
    public var warmup: String?

    @Option(name: .customLong("file-size"), help: "Size of each test file (32MiB).")
    public var fileSize: String?

    @Option(name: .customLong("working-set"), help: "Pages the skewed workloads draw from; the shared file's size (8MiB).")
    public var workingSet: String?

    @Option(name: .customLong("page-size"), help: "Cache page size (4KiB).")
    public var pageSize: String?

    @Option(help: "Cache capacity, the byte budget (64MiB).")
    public var capacity: String?

    @Option(help: "Eviction policy: \(EvictionPolicyKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var eviction: String?

    @Option(name: .customLong("fault-around"), help: "Views: cached neighbours mapped per fault (0).")
    public var faultAround: Int?

    @Option(name: .customLong("spin-limit"), help: "Hybrid lock: spin iterations before parking (0; hybrid-kernel and barging: 40).")
    public var spinLimit: Int?

    @Option(name: .customLong("max-spinners"), help: "Hybrid lock: at most N threads spin at once, process-wide (default: no cap).")
    public var maxSpinners: Int?

    @Option(name: .customLong("single-waker"), help: "Hybrid lock: on: at most one woken waiter per lock is up at a time (an unlock skips the wake meanwhile); off.")
    public var singleWaker: String?

    @Option(name: .customLong("handoff-yield"), help: "Hybrid lock: on: an unlock that hands the lock to a parked waiter yields its CPU; off.")
    public var handoffYield: String?

    @Option(name: .customLong("handoff-spin"), help: "Hybrid lock: a waiter parking due a handoff spins N pauses before sleeping, and a due sleeper is woken ahead of its handoff (2000; 0: off).")
    public var handoffSpin: Int?

    @Option(name: .customLong("restrict-spin"), help: "Hybrid lock: concurrency restriction: at most one thread spins (N pauses, only while another waiter sleeps), the other waiters stay parked until due (0: off, the default).")
    public var restrictSpin: Int?

    @Option(help: "Hybrid lock: lost races before a handoff (5).")
    public var unfairness: Int?

    @Option(name: .customLong("max-wait"), help: "Hybrid lock: a waiter parked this long gets a handoff (1ms; 0 for none).")
    public var maxWait: String?

    @Option(name: .customLong("zipf-skew"), help: "Zipf exponent of zipf, mixed, scan-hot, multi-file (0.99).")
    public var zipfSkew: Double?

    @Option(name: .customLong("read-ratio"), help: "mixed: fraction of reads (0.8).")
    public var readRatio: Double?

    @Option(help: "multi-file: number of files (4).")
    public var files: Int?

    @Option(help: "replay: a block trace (one page number per line, or CSV op,offset,length).")
    public var trace: String?

    @Option(help: "Random seed.")
    public var seed: UInt64?

    @Option(help: "A Folio configuration file (TOML; docs/configuration.md): cache, lock tunables, default strategy.")
    public var config: String?

    @Option(help: "Directory for the test files (default: the temporary directory).")
    public var directory: String?

    @Option(help: "What the test files hold: pattern (a byte per page, the default), text (real text: license texts and Swift toolchain headers and docs, repeated), random (seeded, incompressible) or zeros.")
    public var data: String?

    @Option(help: "Folio engines: keep cold large folios LZ4-compressed, on or off (default off, or the --config file's [compression] enabled). Carried to the engine, which does not compress yet.")
    public var compression: String?

    @Option(name: .customLong("max-folio-order"), help: "Folio engines: the largest folio, 2^N pages (default: the engine's, 4, lowered per cache so that a folio is at most an eighth of the budget; or the --config file's cache.max-folio-order). 0: one-page folios.")
    public var maxFolioOrder: Int?

    @Option(name: .customLong("optimistic-reads"), help: "Per-page strategies: read hits copy without the folio's lock and validate (on, the default) or copy under it (off; or the --config file's cache.optimistic-reads).")
    public var optimisticReads: String?

    public init() {}

    /// The parameters these options describe.
    public func resolve(environment: [String: String] = [:]) throws(LoadError) -> RunParameters {
        var p = RunParameters()
        if let config {
            let c: CacheConfiguration
            do { c = try CacheConfiguration.load(file: config, environment: environment) } catch {
                throw .badArgument("--config: \(error)")
            }
            p.cache = c.cache
            p.lock = c.lock
            p.engines = [.folio(c.lock.kind)]
        }
        if let workload { p.workloads = try Self.workloads(workload) }
        if let strategy { p.engines = try EngineSpec.parseList(strategy) }
        if let threads { p.threads = try ThreadCounts.parse(threads) }
        if let duration { p.duration = try Self.duration(duration, "--duration") }
        if let ops {
            p.operations = ops
            p.duration = nil
        }
        if let repeats { p.repeats = try Self.repeatCount(repeats) }
        if let warmup { p.warmup = try Self.duration(warmup, "--warmup", allowZero: true) }
        if let fileSize { p.fileSize = try Self.size(fileSize, "--file-size") }
        if let workingSet { p.workingSet = try Self.size(workingSet, "--working-set") }
        if let pageSize { p.cache.pageSize = try Self.size(pageSize, "--page-size") }
        if let capacity { p.cache.capacity = try Self.size(capacity, "--capacity") }
        if let eviction {
            guard let e = EvictionPolicyKind(rawValue: eviction) else {
                throw .badArgument("--eviction '\(eviction)': allowed: \(EvictionPolicyKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            p.cache.evictionPolicy = e
        }
        if let faultAround { p.cache.faultAroundPages = faultAround }
        if let maxFolioOrder { p.cache.maxFolioOrder = maxFolioOrder }
        if let compression {
            switch compression.lowercased() {
            // `true` / `false` too: the configuration file's spelling.
            case "on", "true": p.cache.compression.enabled = true
            case "off", "false": p.cache.compression.enabled = false
            default: throw .badArgument("--compression '\(compression)': allowed: on, off")
            }
        }
        if let optimisticReads {
            switch optimisticReads.lowercased() {
            case "on", "true": p.cache.optimisticReads = true
            case "off", "false": p.cache.optimisticReads = false
            default: throw .badArgument("--optimistic-reads '\(optimisticReads)': allowed: on, off")
            }
        }
        if let data {
            guard let d = DataKind(rawValue: data) else {
                throw .badArgument("--data '\(data)': allowed: \(DataKind.allowed)")
            }
            p.data = d
        }
        if let spinLimit {
            guard spinLimit >= 0 else { throw .badArgument("--spin-limit \(spinLimit): must not be negative") }
            p.lock.hybridPolicy.spinLimit = spinLimit
        }
        if let maxSpinners {
            guard maxSpinners >= 0 else { throw .badArgument("--max-spinners \(maxSpinners): must not be negative") }
            p.lock.hybridPolicy.maxSpinners = maxSpinners
        }
        if let singleWaker { p.lock.hybridPolicy.singleWaker = try Self.onOff(singleWaker, "--single-waker") }
        if let handoffYield { p.lock.hybridPolicy.yieldOnHandoff = try Self.onOff(handoffYield, "--handoff-yield") }
        if let handoffSpin {
            guard handoffSpin >= 0 else { throw .badArgument("--handoff-spin \(handoffSpin): must not be negative") }
            p.lock.hybridPolicy.handoffSpin = handoffSpin
        }
        if let restrictSpin {
            guard restrictSpin >= 0 else { throw .badArgument("--restrict-spin \(restrictSpin): must not be negative") }
            p.lock.hybridPolicy.restrictSpin = restrictSpin
        }
        if let unfairness {
            guard unfairness >= 0 else { throw .badArgument("--unfairness \(unfairness): must not be negative") }
            p.lock.hybridPolicy.unfairness = UInt64(unfairness)
        }
        if let maxWait {
            let d = try Self.duration(maxWait, "--max-wait", allowZero: true)
            p.lock.hybridPolicy.maxWait = d == .zero ? nil : d
        }
        if let zipfSkew { p.zipfSkew = zipfSkew }
        if let readRatio { p.readRatio = readRatio }
        if let files { p.files = files }
        if let trace { p.tracePath = trace }
        if let seed { p.seed = seed }
        if let directory { p.directory = directory }
        try p.validate()
        return p
    }

    static func onOff(_ text: String, _ flag: String) throws(LoadError) -> Bool {
        switch text.lowercased() {
        case "on", "true": return true
        case "off", "false": return false
        default: throw .badArgument("\(flag) '\(text)': allowed: on, off")
        }
    }

    static func workloads(_ text: String) throws(LoadError) -> [Workload] {
        var out: [Workload] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            let n = name.trimmingCharacters(in: .whitespaces)
            guard let w = Workload(rawValue: n) else {
                throw .badArgument("--workload: unknown workload '\(n)'; allowed: \(Workload.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !out.contains(w) { out.append(w) }
        }
        return out
    }

    /// `--repeat N`: a whole number from 1 to `RunParameters.maxRepeats`,
    /// read here rather than by the argument parser so that a bad value is
    /// the tool's own error (exit status 2) on the command line and in a job
    /// file alike.
    static func repeatCount(_ text: String) throws(LoadError) -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let n = Int(t), n >= 1, n <= RunParameters.maxRepeats else {
            throw .badArgument("--repeat '\(text)': expected a whole number of runs from 1 to \(RunParameters.maxRepeats)")
        }
        return n
    }

    static func duration(_ text: String, _ flag: String, allowZero: Bool = false) throws(LoadError) -> Duration {
        // Zero needs no unit: `--warmup 0` means no warm-up.
        if allowZero, let zero = Int(text.trimmingCharacters(in: .whitespaces)), zero == 0 { return .zero }
        guard let d = Units.parseDuration(text), allowZero || d > .zero else {
            throw .badArgument("\(flag) '\(text)': expected a \(allowZero ? "" : "positive ")duration with a unit (ns, us, ms, s, min, h), e.g. 500ms")
        }
        return d
    }

    static func size(_ text: String, _ flag: String) throws(LoadError) -> Int {
        guard let s = Units.parseSize(text), s > 0 else {
            throw .badArgument("\(flag) '\(text)': expected a positive size (B, KiB, MiB, GiB, TiB), e.g. 64MiB")
        }
        return s
    }
}

import Foundation
