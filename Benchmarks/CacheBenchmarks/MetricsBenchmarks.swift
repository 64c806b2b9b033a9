// The read hit with metrics on: the cache's instruments made with a
// recording backend (not swift-metrics' no-op one) and exported every
// millisecond by another thread while the hits run — beside the plain
// "<strategy> read 4 KiB hit" (the no-op backend) in the same run. The hit
// path touches no instrument (docs/service.md, "Metrics"), so the two should
// match; the export thread competes for the 2 cores, which is the cost a
// service pays.

import Benchmark
import CoreMetrics
import FolioCache
import FolioLocks
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

func registerMetricsBenchmarks() {
    struct Register: LockStrategyVisitor {
        let name: String
        func visit<S: LockStrategy>(_ strategy: S) {
            Benchmark("\(name) read 4 KiB hit, metrics recorded, exported every 1 ms") { benchmark in
                let factory = RecordingMetrics()
                let cache = try PageCache(
                    strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20),
                    metrics: .init(factory: factory))
                let file = try cache.open(path: benchFilePath, options: [])
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
                defer { buffer.deallocate() }
                for b in 0..<hotBlocks { _ = try file.read(into: buffer, at: Int64(b * blockSize)) }
                let stop = Atomic<Bool>(false)
                let exporter = ExportThread {
                    while !stop.load(ordering: .relaxed) {
                        cache.exportMetrics()
                        usleep(1000)
                    }
                }
                exporter.start()
                try measureReads(benchmark, file, buffer)
                stop.store(true, ordering: .relaxed)
                while !exporter.finished.load(ordering: .acquiring) { usleep(100) }
                blackHole(factory.total.load(ordering: .relaxed))
            }
        }
    }
    for kind in [LockStrategyKind.hybridFair, .perPageBit, .perInode] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue))
    }
}

/// A thread that runs `body` once.
final class ExportThread: @unchecked Sendable {
    // @unchecked Sendable: `body` is immutable; `finished` is atomic.
    let body: @Sendable () -> Void
    let finished = Atomic<Bool>(false)
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    func start() {
        var tid = pthread_t()
        let box = Unmanaged.passRetained(self)
        pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let me = Unmanaged<ExportThread>.fromOpaque(raw).takeRetainedValue()
            me.body()
            me.finished.store(true, ordering: .releasing)
            return nil
        }, box.toOpaque())
        pthread_detach(tid)
    }
}

/// A metrics backend that adds everything it is given into one atomic (so
/// the calls are real work, not a no-op).
final class RecordingMetrics: MetricsFactory, CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler, Sendable {
    let total = Atomic<Int64>(0)
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { self }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { self }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { self }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { self }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { self }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
    func increment(by amount: Int64) { total.wrappingAdd(amount, ordering: .relaxed) }
    func increment(by amount: Double) { total.wrappingAdd(Int64(amount), ordering: .relaxed) }
    func decrement(by amount: Double) {}
    func set(_ value: Int64) { total.wrappingAdd(value, ordering: .relaxed) }
    func set(_ value: Double) { total.wrappingAdd(Int64(value), ordering: .relaxed) }
    func record(_ value: Int64) { total.wrappingAdd(value, ordering: .relaxed) }
    func record(_ value: Double) { total.wrappingAdd(Int64(value), ordering: .relaxed) }
    func recordNanoseconds(_ duration: Int64) { total.wrappingAdd(duration, ordering: .relaxed) }
    func reset() {}
}
