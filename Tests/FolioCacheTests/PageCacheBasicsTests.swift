import FolioCache
import FolioLocks
import FolioTestSupport
import Foundation
import Testing

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct PageCacheBasicsTests {
    @Test(arguments: testedStrategies)
    func writeReadAcrossPagesAndHoles(_ kind: LockStrategyKind) throws {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 512, capacity: 8 * 512))
        let dir = temporaryDirectory()
        let path = dir + "/f"
        let file = try cache.open(path: path)
        #expect(try file.size() == 0)
        // Unaligned, spanning three pages.
        let payload = (0..<1200).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try file.write(payload, at: 300)
        #expect(try file.size() == 1500)
        #expect(try file.read(count: 1200, at: 300) == payload)
        #expect(try file.read(count: 300, at: 0) == [UInt8](repeating: 0, count: 300))
        // Past EOF: a hole that reads as zeros.
        try file.write(bytes("end"), at: 10_000)
        #expect(try file.size() == 10_003)
        #expect(try file.read(count: 100, at: 5_000) == [UInt8](repeating: 0, count: 100))
        #expect(try file.read(count: 10, at: 10_000) == bytes("end"))
        #expect(try file.read(count: 10, at: 20_000) == [])
        // Shrink, then grow: the dropped range reads as zeros.
        try file.truncate(to: 400)
        #expect(try file.size() == 400)
        #expect(try file.read(count: 1000, at: 0).count == 400)
        try file.truncate(to: 2000)
        let after = try file.read(count: 2000, at: 0)
        #expect(Array(after[300..<400]) == Array(payload[0..<100]))
        #expect(Array(after[400...]) == [UInt8](repeating: 0, count: 1600))
        try file.close()
        // On disk exactly what the cache said.
        let disk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(disk == after)
        #expect(cache.statistics.residentBytes == 0)
    }

    @Test(arguments: testedStrategies)
    func budgetIsEnforced(_ kind: LockStrategyKind) throws {
        let pageSize = 512
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: pageSize, capacity: 8 * pageSize))
        let backend = MemoryBackend()
        let file = try cache.open(backend: backend)
        for p in 0..<100 {
            try file.write([UInt8](repeating: UInt8(p), count: pageSize), at: Int64(p * pageSize))
            #expect(cache.statistics.residentBytes <= 8 * pageSize)
        }
        for p in 0..<100 {
            #expect(try file.read(count: pageSize, at: Int64(p * pageSize)) == [UInt8](repeating: UInt8(p), count: pageSize))
            #expect(cache.statistics.residentBytes <= 8 * pageSize)
        }
        let s = cache.statistics
        #expect(s.evictions >= 92)
        #expect(s.writebacks >= 92, "dirty pages are written back before eviction")
        try file.flush()
        #expect(backend.contents.count == 100 * pageSize)
        try file.close()
    }

    @Test(arguments: testedStrategies)
    func concurrentMissesReadOnce(_ kind: LockStrategyKind) throws {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 4096))
        let backend = MemoryBackend(contents: [UInt8](repeating: 9, count: 4096 * 4))
        backend.setReadDelay(microseconds: 20_000)
        let file = try cache.open(backend: backend)
        let bad = EventLog<String>()
        runThreads(8) { _ in
            do {
                let got = try file.read(count: 4096, at: 4096)
                if got != [UInt8](repeating: 9, count: 4096) { bad.append("wrong bytes") }
            } catch { bad.append("\(error)") }
        }
        #expect(bad.events.isEmpty, "\(bad.events)")
        #expect(backend.ioCounts.reads == 1, "\(kind): \(backend.ioCounts.reads) reads of one page")
        try file.close()
    }
}
