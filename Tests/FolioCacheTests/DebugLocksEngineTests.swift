#if DebugLocks
@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// Consumes the checker's reports that `accept` picks, letting the rest through.
final class EngineReportCollector: Sendable {
    let reports = Mutex<[LockDep.Report]>([])
    let id = Mutex<LockDep.ObserverID?>(nil)

    init(_ accept: @escaping @Sendable (LockDep.Report) -> Bool) {
        let token = LockDep.addObserver { [self] report in
            guard accept(report) else { return false }
            reports.withLock { $0.append(report) }
            return true
        }
        id.withLock { $0 = token }
    }

    func stop() -> [LockDep.Report] {
        if let token = id.withLock({ $0 }) { LockDep.removeObserver(token) }
        return reports.withLock { $0 }
    }
}

/// The `DebugLocks` checker on the engine's locks: folio locks of one file
/// are taken in ascending index (descending is reported; a trylock is not
/// ordered), and the public API — reads, writes, views, truncate, flush,
/// eviction under a small budget, collapse and the compressed tier, with
/// every strategy — takes its locks in an order the checker accepts.
/// Serialized: the API test consumes every engine report while it runs, so
/// the tests that provoke engine reports must not run beside it.
@Suite(.serialized) struct DebugLocksEngineTests {
    static let file: StaticString = #fileID

    /// Reports that name a site of this file: the ones this suite provokes.
    static func provokedHere(_ r: LockDep.Report) -> Bool {
        r.sites.contains { $0.hasPrefix("\(file):") }
    }

    func folioOrder<S: LockStrategy>(_ s: S) {
        let collector = EngineReportCollector(Self.provokedHere)
        let low = Folio(index: PageIndex(3)), high = Folio(index: PageIndex(5))
        // Ascending: the documented order.
        s.lockFolio(low)
        s.lockFolio(high)
        s.unlockFolio(high)
        s.unlockFolio(low)
        // Descending by trylock: cannot wait, so not ordered.
        s.lockFolio(high)
        #expect(s.tryLockFolio(low))
        s.unlockFolio(low)
        s.unlockFolio(high)
        #expect(collector.reports.withLock { $0.isEmpty }, "\(collector.reports.withLock { $0 })")
        // Descending, blocking: reported with both sites.
        s.lockFolio(high); let highLine = #line
        s.lockFolio(low); let lowLine = #line
        s.unlockFolio(low)
        s.unlockFolio(high)
        // Overlapping (a page of the held large folio): reported too.
        let large = Folio(index: PageIndex(8), order: 2), inside = Folio(index: PageIndex(10))
        s.lockFolio(large)
        s.lockFolio(inside)
        s.unlockFolio(inside)
        s.unlockFolio(large)
        let reports = collector.stop()
        #expect(reports.count == 2, "\(reports)")
        guard let r = reports.first else { return }
        #expect(r.kind == .outOfOrder)
        #expect(r.classes == [LockClass.folio.name, LockClass.folio.name])
        #expect(r.sites == ["\(Self.file):\(highLine)", "\(Self.file):\(lowLine)"], "\(r)")
        #expect(r.message.contains("positions 3..<4 taken while holding 5..<6"), "\(r)")
        print(r.message)
    }

    @Test func folioLocksOfOneFileAscendOnly() {
        folioOrder(HybridFairLocking())
        folioOrder(PerPageBitLocking())
    }

    @Test func folioLockOwnership() {
        let s = HybridFairLocking()
        let collector = EngineReportCollector(Self.provokedHere)
        let f = Folio(index: PageIndex(1))
        s.lockFolio(f)
        s.unlockFolio(f)
        s.unlockFolio(f); let second = #line
        let reports = collector.stop()
        #expect(reports.count == 1 && reports.first?.kind == .doubleUnlock, "\(reports)")
        #expect(reports.first?.sites.last == "\(Self.file):\(second)")
        let stillLocked = BitLock.isLocked(f.state)
        #expect(!stillLocked)
    }

    @Test func folioDoubleUnlockTraps() async {
        await #expect(processExitsWith: .failure) {
            unsetenv("FOLIO_LOCKDEP_REPORT")  // a report must trap here, whatever the parent said
            let s = PerPageBitLocking()
            let f = Folio(index: PageIndex(1))
            s.lockFolio(f)
            s.unlockFolio(f)
            s.unlockFolio(f)
        }
    }

    /// A view's write closure runs with its page locked (folio lock and page
    /// range; per-inode the file lock): a cache call inside it that fills a
    /// page takes an invalidate lock under a folio lock — against the order,
    /// and a deadlock with a truncate of that file waiting for the folio (per
    /// inode, a read of the same file waits for itself at once). Reported.
    @Test func aCacheCallInsideAViewWriteClosureIsReported() throws {
        let s = HybridFairLocking()
        let cache = try PageCache(strategy: s, configuration: .init(pageSize: 4096, capacity: 64 * 4096, maxFolioOrder: 0))
        let a = try cache.open(backend: MemoryBackend(path: "dl-view-a", contents: [UInt8](repeating: 1, count: 8 * 4096)))
        let b = try cache.open(backend: MemoryBackend(path: "dl-view-b", contents: [UInt8](repeating: 2, count: 8 * 4096)))
        // The documented order first, whatever ran before: a truncate takes
        // the invalidate lock, then the folio of cached page 7.
        _ = try a.read(count: 1, at: 7 * 4096)
        try a.truncate(to: 6 * 4096)
        let collector = EngineReportCollector { r in
            r.kind == .inversion && r.classes == [LockClass.folio.name, LockClass.invalidate.name]
        }
        let view = try a.map(0..<(4 * 4096), mode: .readWrite)
        let read = try view.withUnsafeMutableBytes(at: 100, count: 10) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 3)
            return (try? b.read(count: 10, at: 4096)) ?? []  // a miss: fills under b's invalidate lock
        }
        view.unmap()
        #expect(read == [UInt8](repeating: 2, count: 10))
        let reports = collector.stop()
        #expect(reports.count == 1, "\(reports)")
        print(reports.first?.message ?? "no report")
        try a.close()
        try b.close()
    }

    static func strategies() -> [any LockStrategy] {
        [PerPageBitLocking(), HybridFairLocking(), HybridFairLocking.fair(), PerInodeLocking(), PerRangeLocking()]
    }

    /// Everything the public API does, on two files, with a budget small
    /// enough that reads and writes evict, large folios, and (`compression`)
    /// the compressed tier. Any report fails the test.
    func drive<S: LockStrategy>(_ strategy: S, compression: Bool) throws {
        let pageSize = 4096
        let cache = try PageCache(strategy: strategy, configuration: .init(
            pageSize: pageSize, capacity: 48 * pageSize, evictionPolicy: .s3fifo, maxFolioOrder: 3,
            compression: CompressionConfiguration(enabled: compression)))
        var text = [UInt8](repeating: 0, count: 96 * pageSize)
        for i in 0..<text.count {
            let letter = (i / 7 + i / 4096) % 26
            text[i] = UInt8(97 + letter)
        }
        let a = try cache.open(backend: MemoryBackend(path: "dl-a-\(strategy.kind)", contents: text))
        let b = try cache.open(backend: MemoryBackend(path: "dl-b-\(strategy.kind)"))
        // Sequential reads (readahead: large folios), random reads, writes.
        #expect(try a.read(count: text.count, at: 0) == text)
        var rng = SplitMix64(seed: 14)
        for _ in 0..<200 {
            let off = Int64(rng.next() % UInt64(text.count - 100))
            _ = try a.read(count: 100, at: off)
            try b.write([UInt8](repeating: UInt8(truncatingIfNeeded: off), count: 300), at: off / 3)
        }
        // Collapse, split by truncate, the tier's pressure.
        _ = try a.compact()
        _ = cache.compact()
        try a.truncate(to: Int64(50 * pageSize + 123))
        try a.truncate(to: Int64(60 * pageSize))
        _ = a.split(at: Int64(16 * pageSize + 1))
        // Views: read, fault around, write through the view, across files.
        let view = try a.map(Int64(0)..<Int64(20 * pageSize), mode: ViewMode.readWrite)
        let viewB = try b.map(Int64(0)..<Int64(8 * pageSize), mode: ViewMode.readWrite)
        for p in stride(from: 0, to: 20, by: 3) {
            _ = try view.copyBytes(at: Int64(p * pageSize + 10), count: 64)
            try view.store([1, 2, 3], at: Int64(p * pageSize + 100))
            _ = try view.withUnsafeBytes(at: Int64(p * pageSize), count: 16) { buf in
                (try? viewB.copyBytes(at: Int64((p % 8) * pageSize), count: 16)).map { $0.count + buf.count } ?? 0
            }
        }
        view.unmap()
        viewB.unmap()
        // Flush, sync, shrink, concurrent users, close.
        try a.flush()
        try b.sync()
        cache.shrink(toBytes: 8 * pageSize)
        runThreads(4) { t in
            var r = SplitMix64(seed: UInt64(t))
            for _ in 0..<100 {
                let off = Int64(r.next() % UInt64(40 * pageSize))
                _ = try? a.read(count: 200, at: off)
                try? b.write([UInt8(t)], at: off)
                if r.next() % 10 == 0 { _ = try? a.compact() }
            }
        }
        try a.close()
        try b.close()
        // The paths ran: reclaim (eviction, or the tier's compression when it
        // is on: then nothing may need evicting), writeback, readahead, split.
        let st = cache.statistics
        print("DebugLocksEngineTests \(strategy.kind) compression=\(compression): evictions \(st.evictions), writebacks \(st.writebacks), readahead folios \(st.readaheadFolios), collapses \(st.collapses), splits \(st.splits), compressions \(st.compressions), decompressions \(st.decompressions)")
        #expect(st.writebacks > 0 && st.readaheadFolios > 0, "\(strategy.kind): \(st)")
        if compression {
            #expect(st.compressions > 0 && st.decompressions > 0, "\(strategy.kind): \(st)")
        } else {
            #expect(st.evictions > 0 && st.splits > 0, "\(strategy.kind): \(st)")
        }
    }

    @Test(arguments: [false, true])
    func thePublicAPITakesItsLocksInOrder(_ compression: Bool) throws {
        // Every report of the engine's classes fails this test (those of the
        // other suites' provoked cases are theirs).
        let collector = EngineReportCollector { r in !Self.provokedHere(r) && !r.classes.allSatisfy { $0.hasPrefix("dl-test") } }
        for s in Self.strategies() {
            try drive(s, compression: compression)
        }
        let reports = collector.stop()
        #expect(reports.isEmpty, "\(reports.map(\.message).joined(separator: "\n\n"))")
        let edges = LockDep.learnedEdges()
        for (from, to) in [("invalidate", "folio"), ("folio", "page-table shard"), ("range", "page-table shard"), ("inode", "page-table shard")] {
            #expect(edges.contains { $0.from == from && $0.to == to }, "edge \(from) -> \(to) not learned")
        }
    }
}
#endif
