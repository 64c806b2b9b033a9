// The generic byte entry points (CachedFile+Bytes.swift) against the entry
// points they forward to, same run (issue 13): a 4 KiB write over a cached
// block and a 4 KiB read hit, 1000 per iteration over the same blocks as the
// other cache benchmarks. For `[UInt8]` the generic forms must cost what the
// concrete ones cost (they run the same engine entry point on the array's
// storage); the `ArraySlice` and `Data` rows show other collections, and
// `AnyCachedFile` the run-time-chosen handle.
//
//     cd Benchmarks && swift package benchmark --target CacheBenchmarks --filter '.*entry point.*' --no-progress

import Benchmark
import FolioCache
import FolioLocks
import Foundation

/// Calls the generic write with any collection (the concrete `[UInt8]`
/// overload would win overload resolution at a call with an array).
@inline(__always)
func writeGeneric<F: CachedFileProtocol, Bytes: Collection<UInt8>>(_ file: F, _ bytes: Bytes, at offset: Int64) throws(FolioError) {
    try file.write(bytes, at: offset)
}

func registerByteEntryPointBenchmarks() {
    struct Register: LockStrategyVisitor {
        let name: String
        func visit<S: LockStrategy>(_ strategy: S) {
            let data = [UInt8](repeating: 7, count: blockSize)
            func writes(_ label: String, _ body: @escaping (CachedFile<S>, Int64) throws -> Void) {
                Benchmark("\(name) write 4 KiB (cached), entry point \(label)") { benchmark in
                    let cache = try PageCache(strategy: strategy, configuration: .init(pageSize: blockSize, capacity: 64 << 20))
                    let file = try cache.open(backend: MemoryBackend(path: "scratch"))
                    for b in 0..<hotBlocks { try file.write(data, at: Int64(b * blockSize)) }
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        for b in blockOrder { try body(file, Int64(b * blockSize)) }
                    }
                    benchmark.stopMeasurement()
                    try file.close()
                }
            }
            writes("UnsafeRawBufferPointer (engine)") { file, at in try data.withUnsafeBytes { try file.write($0, at: at) } }
            writes("[UInt8] (concrete)") { file, at in try file.write(data, at: at) }
            writes("[UInt8] (generic)") { file, at in try writeGeneric(file, data, at: at) }
            let slice = data[...]
            writes("ArraySlice (generic)") { file, at in try file.write(slice, at: at) }
            let bytes = Data(data)
            writes("Data (generic)") { file, at in try file.write(bytes, at: at) }
            writes("[UInt8] (AnyCachedFile)") { file, at in try AnyCachedFile(file).write(data, at: at) }

            func reads(_ label: String, _ body: @escaping (CachedFile<S>, Int64) throws -> Void) {
                Benchmark("\(name) read 4 KiB hit, entry point \(label)") { benchmark in
                    let (file, buffer) = try openWarm(strategy, PageCacheConfiguration().evictionPolicy)
                    buffer.deallocate()
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        for b in blockOrder { try body(file, Int64(b * blockSize)) }
                    }
                    benchmark.stopMeasurement()
                    try file.close()
                }
            }
            let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
            nonisolated(unsafe) var array = [UInt8](repeating: 0, count: blockSize)
            reads("into UnsafeMutableRawBufferPointer (engine)") { file, at in blackHole(try file.read(into: raw, at: at)) }
            reads("into inout [UInt8] (generic)") { file, at in blackHole(try file.read(into: &array, at: at)) }
            reads("count -> [UInt8] (concrete)") { file, at in blackHole(try file.read(count: blockSize, at: at)) }
            reads("count -> [UInt8] (generic)") { file, at in blackHole(try file.read(count: blockSize, at: at, as: [UInt8].self)) }
            reads("count -> Data (generic)") { file, at in blackHole(try file.read(count: blockSize, at: at, as: Data.self)) }
        }
    }
    for kind in [LockStrategyKind.hybridFair, .perRange] {
        LockStrategyConfiguration(kind: kind).visit(Register(name: kind.rawValue))
    }
}
