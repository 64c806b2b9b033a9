import FolioCache
import FolioLocks
import Foundation
import Histogram
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs every (workload, engine, threads) combination of a `RunParameters`
/// and collects the results.
public struct Runner: Sendable {
    public let parameters: RunParameters
    /// Called before each measurement with (index, total, label).
    public var progress: (@Sendable (Int, Int, String) -> Void)?

    public init(parameters: RunParameters, progress: (@Sendable (Int, Int, String) -> Void)? = nil) {
        self.parameters = parameters
        self.progress = progress
    }

    public func run() throws(LoadError) -> LoadReport {
        try parameters.validate()
        let trace = try parameters.tracePath.map { (p: String) throws(LoadError) in try Trace.load(path: p, pageSize: parameters.pageSize) }
        // Before anything is created: `--data text` checks its corpus here.
        var drivers: [WorkloadDriver] = []
        for workload in parameters.workloads {
            drivers.append(try WorkloadDriver(workload: workload, parameters: parameters, trace: trace))
        }
        let root = try makeDirectory()
        InterruptCleanup.shared.add(root)
        defer {
            try? FileManager.default.removeItem(atPath: root)
            InterruptCleanup.shared.remove(root)
        }
        var results: [LoadResult] = []
        let repeats = parameters.repeats
        let total = parameters.workloads.count * parameters.engines.count * parameters.threads.count * repeats
        var n = 0
        func label(_ workload: Workload, _ engine: EngineSpec, _ threads: Int) -> String {
            "\(workload.rawValue) \(engine) \(threads) thread\(threads == 1 ? "" : "s")"
        }
        for driver in drivers {
            let workload = driver.workload
            if repeats == 1 {
                for engine in parameters.engines {
                    for threads in parameters.threads {
                        n += 1
                        progress?(n, total, label(workload, engine, threads))
                        let paths = try driver.prepareFiles(in: root)
                        results.append(try measure(driver, spec: engine, threads: threads, paths: paths))
                    }
                }
                continue
            }
            // `--repeat N`: per thread count, round r runs every engine once,
            // in order, then round r + 1 (A B C A B C …), so that a slow
            // phase of the machine falls on every engine alike.
            var runs = [[Int: [LoadResult]]](repeating: [:], count: parameters.engines.count)
            for threads in parameters.threads {
                for round in 1...repeats {
                    for (e, engine) in parameters.engines.enumerated() {
                        n += 1
                        progress?(n, total, label(workload, engine, threads) + " (repeat \(round)/\(repeats))")
                        let paths = try driver.prepareFiles(in: root)
                        runs[e][threads, default: []].append(try measure(driver, spec: engine, threads: threads, paths: paths))
                    }
                }
            }
            // Reported in the order of one run: engine by engine, threads.
            for e in parameters.engines.indices {
                for threads in parameters.threads {
                    results.append(LoadResult.combining(runs[e][threads] ?? []))
                }
            }
        }
        return LoadReport(host: .init(cpus: ProcessInfo.processInfo.activeProcessorCount, memoryBytes: ProcessInfo.processInfo.physicalMemory),
                          parameters: parameters.described, results: results)
    }

    func makeDirectory() throws(LoadError) -> String {
        let base = parameters.directory ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("folio-load-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .badArgument("cannot create a working directory under \(base): \(error.localizedDescription)")
        }
        return path
    }

    /// Builds the engine of `spec` and measures it (Folio engines inside the
    /// strategy visitor, with their concrete type).
    func measure(_ driver: WorkloadDriver, spec: EngineSpec, threads: Int, paths: [String]) throws(LoadError) -> LoadResult {
        switch spec {
        case .folio(let kind, let unfairness):
            var lock = parameters.lock
            lock.kind = kind
            if let unfairness { lock.hybridPolicy.unfairness = UInt64(unfairness) }
            return try lock.visit(FolioMeasurement(runner: self, driver: driver, spec: spec, threads: threads, paths: paths)).get()
        case .os:
            return try measure(driver, engine: try OSEngine(pageSize: parameters.pageSize, paths: paths), threads: threads)
        case .mutexDict:
            return try measure(driver, engine: try MutexDictEngine(pageSize: parameters.pageSize, capacity: parameters.cache.capacity, paths: paths), threads: threads)
        }
    }

    /// One measurement: threads run the workload through `engine`; the
    /// warm-up is excluded; counters are read after every thread stopped.
    func measure<E: LoadEngine>(_ driver: WorkloadDriver, engine: E, threads: Int) throws(LoadError) -> LoadResult {
        let spec = engine.spec
        let shared = driver.makeShared()
        let phase = Atomic<Int>(Phase.warmup)
        let workers = (0..<threads).map { _ in WorkerState() }
        let group = DispatchGroup()
        let ready = Atomic<Int>(0)
        let operations = parameters.operations
        for t in 0..<threads {
            group.enter()
            let worker = workers[t]
            Thread {
                defer { group.leave() }
                worker.run(t: t, threads: threads, driver: driver, engine: engine, shared: shared,
                           phase: phase, ready: ready, operations: operations)
            }.start()
        }
        while ready.load(ordering: .acquiring) < threads { usleep(100) }
        sleep(for: parameters.warmup)
        engine.resetCounters()
        let cpu0 = cpuSeconds()
        let t0 = MonotonicClock.nanoseconds()
        phase.store(Phase.measure, ordering: .releasing)
        var t1: UInt64 = 0
        if let duration = parameters.duration, operations == nil {
            sleep(for: duration)
            t1 = MonotonicClock.nanoseconds()
            phase.store(Phase.stop, ordering: .releasing)
            group.wait()
        } else {
            group.wait()
            t1 = MonotonicClock.nanoseconds()
        }
        let cpu1 = cpuSeconds()
        let counters = engine.counters()
        var verification = shared.verificationFailure()
        if verification == nil, driver.workload == .hammer {
            verification = try driver.verifyHammer(engine: engine, workers: workers)
        }
        try engine.shutDown()
        if let failure = workers.compactMap(\.error).first { throw failure }
        return summarize(driver.workload, spec, threads: threads, workers: workers, seconds: Double(t1 &- t0) / 1e9,
                         counters: counters, cpu: cpu1 - cpu0, verification: verification, verifying: driver.verifies,
                         roles: driver.roles(threads: threads))
    }

    func summarize(_ workload: Workload, _ spec: EngineSpec, threads: Int, workers: [WorkerState], seconds: Double,
                   counters: EngineCounters, cpu: Double, verification: String?, verifying: Bool, roles: [String]? = nil) -> LoadResult {
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        for w in workers { latency.add(w.latency) }
        let perThread = workers.map(\.ops)
        let total = perThread.reduce(0, &+)
        let bytes = workers.reduce(0) { $0 &+ $1.bytes }
        let accesses = workers.reduce(0) { $0 &+ $1.accesses }
        let sum = perThread.reduce(0.0) { $0 + Double($1) }
        let squares = perThread.reduce(0.0) { $0 + Double($1) * Double($1) }
        let lock = counters.lock
        let waits = counters.lockWaits
        let folios = counters.largeFolios
        var hitRatio: Double? = nil
        if let misses = counters.misses, accesses > 0 {
            hitRatio = Swift.max(0, 1 - Double(misses) / Double(accesses))
        }
        let seconds = Swift.max(seconds, 1e-9)
        return LoadResult(
            workload: workload.rawValue, strategy: spec.description, threads: threads, seconds: seconds,
            operations: total, opsPerSecond: Double(total) / seconds, megabytesPerSecond: Double(bytes) / seconds / 1e6,
            latencyNs: total == 0 ? .zero : Percentiles(
                p50: latency.valueAtPercentile(50), p99: latency.valueAtPercentile(99),
                p999: latency.valueAtPercentile(99.9), max: latency.max),
            lockWaitNs: waits.map { w in
                Percentiles(p50: w.value(atPercentile: 50), p99: w.value(atPercentile: 99),
                            p999: w.value(atPercentile: 99.9), max: lock?.maxWaitNanoseconds ?? w.maximum)
            } ?? .zero,
            lockStatisticsAvailable: lock != nil,
            perThreadOps: perThread, threadRoles: roles, minThreadOps: perThread.min() ?? 0, maxThreadOps: perThread.max() ?? 0,
            jainIndex: squares == 0 ? 1 : sum * sum / (Double(perThread.count) * squares),
            countsAddUp: total == latency.totalCount,
            hitRatio: hitRatio, misses: counters.misses, evictions: counters.evictions,
            slowAcquisitions: lock?.slowAcquisitions, parks: lock?.parks, handoffs: lock?.handoffs,
            steals: lock?.lostRaces, maxOvertaken: lock?.maxLostRaces,
            cpuSeconds: cpu,
            collapses: folios?.collapses,
            collapseAborts: folios.map { f in Dictionary(uniqueKeysWithValues: f.collapseAborts.map { ($0.key.description, $0.value) }) },
            splits: folios?.splits, readaheadFolios: folios?.readaheadFolios, compressedFolios: folios?.compressedFolios,
            logicalBytes: folios?.logicalBytes, residentBytes: folios?.residentBytes,
            effectiveCapacity: folios?.effectiveCapacity, checksumFailures: folios?.checksumFailures,
            verification: verifying ? (verification.map { "failed: \($0)" } ?? "ok") : nil, job: nil)
    }
}

enum Phase {
    static let warmup = 0
    static let measure = 1
    static let stop = 2
}

/// One thread's measurements. Written only by its thread, read by the
/// coordinator after `DispatchGroup.wait()` (which orders the accesses).
final class WorkerState: @unchecked Sendable {
    // @unchecked Sendable: see above — one writer, then one reader after a
    // happens-before edge.
    var ops: UInt64 = 0
    var bytes: UInt64 = 0
    var accesses: UInt64 = 0
    /// Every operation, warm-up included (the hammer check needs it).
    var lastValue: UInt64 = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var error: LoadError?

    func run<E: LoadEngine>(t: Int, threads: Int, driver: WorkloadDriver, engine: E, shared: WorkloadShared,
                            phase: borrowing Atomic<Int>, ready: borrowing Atomic<Int>, operations: Int?) {
        let session: E.Session
        do throws(LoadError) { session = try engine.makeSession() } catch {
            self.error = error
            ready.wrappingAdd(1, ordering: .releasing)
            return
        }
        var rng = SplitMix(seed: driver.parameters.seed &+ UInt64(t) &* 0x9E37_79B9)
        var cursor = driver.startCursor(t: t, threads: threads)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: driver.parameters.pageSize, alignment: 64)
        defer { buffer.deallocate() }
        // What writes write until a read fills the buffer: data of `--data`'s kind.
        driver.content.fillWriteBuffer(buffer, thread: t, filePages: driver.filePages)
        ready.wrappingAdd(1, ordering: .releasing)
        // No warm-up: not one operation before the measurement starts, so
        // that `--ops N --warmup 0` is exactly N operations on a cold cache
        // (a trace replayed once, from its first access).
        if driver.parameters.warmup == .zero {
            while phase.load(ordering: .acquiring) == Phase.warmup { sched_yield() }
        }
        var measured = 0
        while true {
            let p = phase.load(ordering: .acquiring)
            if p == Phase.stop { break }
            if p == Phase.measure, let operations, measured >= operations { break }
            let start = MonotonicClock.nanoseconds()
            let outcome: StepOutcome
            do throws(LoadError) {
                outcome = try driver.step(t: t, threads: threads, session: session, rng: &rng, cursor: &cursor,
                                          buffer: buffer, shared: shared, counter: lastValue &+ 1)
            } catch {
                self.error = error
                shared.abort()
                break
            }
            if driver.workload == .hammer { lastValue &+= 1 }
            if p == Phase.measure {
                let end = MonotonicClock.nanoseconds()
                _ = latency.record(end &- start)
                ops &+= 1
                bytes &+= UInt64(outcome.bytes)
                accesses &+= UInt64(outcome.accesses)
                measured += 1
            }
            if shared.aborted { break }
        }
    }
}

func sleep(for d: Duration) {
    let ns = d.clampedNanoseconds
    var ts = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
    var left = timespec()
    while nanosleep(&ts, &left) != 0 && errno == EINTR { ts = left }
}

extension Duration {
    var clampedNanoseconds: UInt64 {
        let (s, a) = components
        if s < 0 { return 0 }
        if s > Int64(UInt64.max / 1_000_000_000) - 1 { return UInt64.max / 2 }
        return UInt64(s) * 1_000_000_000 + UInt64(a / 1_000_000_000)
    }
}

/// User + system CPU time of the process, in seconds.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
        + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
}
