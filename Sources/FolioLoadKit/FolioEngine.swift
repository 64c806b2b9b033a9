import FolioCache
import FolioLocks

/// Builds a `FolioEngine` for the strategy a configuration names, with its
/// concrete type (`LockStrategyConfiguration.visit`), and measures it there,
/// so that the whole engine — reads, writes, views — runs specialized for
/// it, as it does for a user who picks the strategy at build time.
struct FolioMeasurement: LockStrategyVisitor {
    let runner: Runner
    let driver: WorkloadDriver
    let spec: EngineSpec
    let threads: Int
    let paths: [String]

    func visit<S: LockStrategy>(_ strategy: S) -> Result<LoadResult, LoadError> {
        Result { () throws(LoadError) -> LoadResult in
            let engine = try FolioEngine(spec: spec, strategy: strategy, cache: runner.parameters.cache, paths: paths)
            return try runner.measure(driver, engine: engine, threads: threads)
        }
    }
}

/// A Folio cache with one lock strategy.
final class FolioEngine<Strategy: LockStrategy>: LoadEngine, @unchecked Sendable {
    // @unchecked Sendable: `files` and `cache` are set in init and never
    // mutated; both are thread-safe.
    let spec: EngineSpec
    let cache: PageCache<Strategy>
    let files: [CachedFile<Strategy>]
    let pageSize: Int
    let base = BaseCounters()

    init(spec: EngineSpec, strategy: Strategy, cache configuration: PageCacheConfiguration, paths: [String]) throws(LoadError) {
        self.spec = spec
        self.pageSize = configuration.pageSize
        do throws(FolioError) {
            let c = try PageCache(strategy: strategy, configuration: configuration)
            var opened: [CachedFile<Strategy>] = []
            for p in paths { opened.append(try c.open(path: p, options: [])) }
            cache = c
            files = opened
        } catch {
            throw .engine("\(spec): \(error)")
        }
    }

    func makeSession() throws(LoadError) -> FolioSession<Strategy> { FolioSession<Strategy>(engine: self) }

    func counters() -> EngineCounters {
        let s = cache.statistics
        let b = base.statistics
        return EngineCounters(
            misses: s.misses &- b.misses, evictions: s.evictions &- b.evictions,
            lock: cache.strategy.statistics.snapshot, lockWaits: cache.strategy.statistics.waits.snapshot,
            largeFolios: LargeFolioCounters(s, since: b))
    }

    func resetCounters() {
        base.statistics = cache.statistics
        cache.strategy.statistics.reset()
    }

    func dropCache() throws(LoadError) {
        for f in files {
            do throws(FolioError) { try f.flush() } catch { throw .engine("\(spec): flush: \(error)") }
        }
        cache.shrink(toBytes: 0)
    }

    func shutDown() throws(LoadError) {
        var failure: LoadError? = nil
        for f in files {
            do throws(FolioError) { try f.close() } catch {
                if failure == nil { failure = .engine("\(spec): close: \(error)") }
            }
        }
        if let failure { throw failure }
    }
}

/// Baselines of the cache counters at the start of a measurement.
final class BaseCounters: @unchecked Sendable {
    // @unchecked Sendable: written once per measurement by the coordinating
    // thread before the measured threads start reading counters, read after
    // they stop (the thread start/stop handshakes order the accesses).
    var statistics = CacheStatistics(residentBytes: 0, residentFolios: 0, evictionOverheadBytes: 0, misses: 0, evictions: 0,
                                     writebacks: 0, reclaimSkips: 0)
}

final class FolioSession<Strategy: LockStrategy>: LoadSession {
    let engine: FolioEngine<Strategy>
    /// This thread's long-lived views (one per file): read-write for fault
    /// writes, read-only for view reads.
    var views: [FileView<Strategy>?]
    var readViews: [FileView<Strategy>?]

    /// The engine's files, unretained: the engine keeps them alive for the
    /// session's life. `engine.files[i].read(…)` retained and released the
    /// file object on every call — one atomic on a cache line every thread
    /// of the run shares, which made two readers of separate pages scale
    /// like readers of one (perf: swift_retain + swift_release 16 % of a
    /// 2-thread hit-hot run).
    let fileRefs: [Unmanaged<CachedFile<Strategy>>]

    init(engine: FolioEngine<Strategy>) {
        self.engine = engine
        views = [FileView<Strategy>?](repeating: nil, count: engine.files.count)
        readViews = views
        fileRefs = engine.files.map { Unmanaged.passUnretained($0) }
    }

    func viewRead(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        do throws(FolioError) {
            let view: FileView<Strategy>
            if let v = readViews[file] {
                view = v
            } else {
                view = try engine.files[file].map(0..<(1 << 40))
                readViews[file] = view
            }
            try view.withUnsafeBytes(at: Int64(page * engine.pageSize), count: buffer.count) { buffer.copyMemory(from: $0) }
            return true
        } catch {
            if case .beyondEndOfFile = error { return false }
            throw .engine("\(engine.spec): view read of page \(page): \(error)")
        }
    }

    func read(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) {
        let offset = Int64(page * engine.pageSize)
        let result = fileRefs[file]._withUnsafeGuaranteedRef { f in
            Result { () throws(FolioError) in _ = try f.read(into: buffer, at: offset) }
        }
        if case .failure(let error) = result { throw .engine("\(engine.spec): read page \(page): \(error)") }
    }

    func write(file: Int, page: Int, from buffer: UnsafeRawBufferPointer) throws(LoadError) {
        let offset = Int64(page * engine.pageSize)
        let result = fileRefs[file]._withUnsafeGuaranteedRef { f in
            Result { () throws(FolioError) in try f.write(buffer, at: offset) }
        }
        if case .failure(let error) = result { throw .engine("\(engine.spec): write page \(page): \(error)") }
    }

    func faultWrite(file: Int, page: Int, offset: Int, value: UInt64) throws(LoadError) {
        do throws(FolioError) {
            let view: FileView<Strategy>
            if let v = views[file] {
                view = v
            } else {
                view = try engine.files[file].map(0..<(1 << 40), mode: .readWrite, faultAround: 0)
                views[file] = view
            }
            try view.withUnsafeMutableBytes(at: Int64(page * engine.pageSize + offset), count: 8) {
                $0.storeBytes(of: value, as: UInt64.self)
            }
        } catch { throw .engine("\(engine.spec): view write of page \(page): \(error)") }
    }

    func mapRead(file: Int, mapPages: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        do throws(FolioError) {
            let view = try engine.files[file].map(0..<Int64(mapPages * engine.pageSize))
            defer { view.unmap() }
            try view.withUnsafeBytes(at: Int64(page * engine.pageSize), count: buffer.count) { buffer.copyMemory(from: $0) }
            return true
        } catch {
            if case .beyondEndOfFile = error { return false }
            throw .engine("\(engine.spec): view read of page \(page): \(error)")
        }
    }

    /// `CachedFile.read` copies under the page lock (docs/views.md).
    var pageReadsAreAtomic: Bool { true }

    func readPage(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        do throws(FolioError) {
            return try engine.files[file].read(into: buffer, at: Int64(page * engine.pageSize)) == buffer.count
        } catch { throw .engine("\(engine.spec): read page \(page): \(error)") }
    }

    func compact(file: Int) throws(LoadError) -> Bool {
        do throws(FolioError) {
            _ = try engine.files[file].compact()
            return true
        } catch { throw .engine("\(engine.spec): compact: \(error)") }
    }

    func truncate(file: Int, pages: Int) throws(LoadError) {
        do throws(FolioError) {
            try engine.files[file].truncate(to: Int64(pages * engine.pageSize))
        } catch { throw .engine("\(engine.spec): truncate: \(error)") }
    }

    func sizePages(file: Int) throws(LoadError) -> Int {
        do throws(FolioError) {
            return Int(try engine.files[file].size()) / engine.pageSize
        } catch { throw .engine("\(engine.spec): size: \(error)") }
    }
}
