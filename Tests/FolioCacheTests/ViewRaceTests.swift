import FolioCache
@testable import FolioLoadKit
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// The seed's race, as a test: threads fault pages through views while a
/// mover truncates the file and grows it again by writing stamped pages
/// (so folios freed at one index are recycled at others all the time), a
/// truncater cuts it down, and an evictor shrinks the cache and flushes.
///
/// Every page carries (file id, index, version) stamps (folio-load's
/// `Stamp`). A view access must
/// never return a page of another index, a torn page, a version never
/// written — and, whenever nothing changed the file while it ran, exactly the
/// page's current content: never bytes past EOF (it must throw
/// `beyondEndOfFile`), never a stale version, and never a spurious
/// `beyondEndOfFile` below EOF.
///
/// Only the mover writes, and only pages at or past EOF (it regrows the file
/// page by page in ascending order; the truncater only shrinks, at page
/// boundaries): so no page is ever rewritten in place while a reader may have
/// it pinned, and the test stays free of the byte-level races a shared mapping
/// allows by design (ThreadSanitizer runs it in CI).
@Suite struct ViewRaceTests {
    @Test(arguments: testedStrategies, [false, true])
    func faultsNeverReturnAWrongOrPastEOFPage(_ kind: LockStrategyKind, slowDisk: Bool) throws {
        let pageSize = 512
        let pages = 16
        let seed = testSeed()
        print("ViewRaceTests \(kind.rawValue) slowDisk=\(slowDisk): seed=\(seed), 3 view readers + mover + truncater + evictor")
        let cache = try AnyPageCache(
            strategy: .init(kind: kind, waitTableBuckets: 4),
            configuration: .init(pageSize: pageSize, capacity: 8 * pageSize, faultAroundPages: 2))
        let path = temporaryDirectory() + "/view-race-\(kind.rawValue)"
        let memory = MemoryBackend(path: "slow-disk")
        memory.setWriteDelay(microseconds: 30)
        memory.setReadDelay(microseconds: 10)
        let file = slowDisk ? try cache.open(backend: memory) : try cache.open(path: path, options: [.create, .truncate])
        // The bookkeeping and the judge are folio-load's truncate-race
        // verifier: what the file holds and when it changed (one mover and one
        // truncater, serialized with their bookkeeping), and per read: a stamp
        // of this page, never torn or unwritten, and — when nothing changed
        // the file meanwhile — exactly its content, past EOF exactly when it is.
        let book = WorkloadShared(pages: pages)  // starts as `pages` pages of version 0:
        let initial = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { initial.deallocate() }
        for p in 0..<pages {
            Stamp.fill(initial, page: p, version: 0)
            try file.write(UnsafeRawBufferPointer(initial), at: Int64(p * pageSize))
        }
        let judged = Atomic<Int>(0)
        let shared = try file.map(0..<Int64(pages * pageSize))
        let stop = Atomic<Bool>(false)
        let cycles = stressIterations(400)
        let ok = finishes(within: 300) {
            runThreads(6) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
                defer { buffer.deallocate() }
                do {
                    switch t {
                    case 0..<3:  // view readers: two share a view, one has its own
                        let view = t == 2 ? try file.map(0..<Int64(pages * pageSize)) : shared
                        while !stop.load(ordering: .acquiring) && book.verificationFailure() == nil {
                            let p = Int(rng.next() % UInt64(pages))
                            let before = book.snapshot(p)
                            var readOK = true
                            do throws(FolioError) {
                                if rng.next() % 2 == 0 {
                                    let stable = try view.withUnsafeBytes(at: Int64(p * pageSize), count: pageSize) { bytes -> Bool in
                                        // Pinned: the bytes must not change under us.
                                        buffer.copyMemory(from: bytes)
                                        return bytes.elementsEqual(buffer)
                                    }
                                    if !stable { book.fail("page \(p): bytes changed under a pinned in-place access") }
                                } else {
                                    try view.copyBytes(at: Int64(p * pageSize), into: buffer)
                                }
                            } catch {
                                guard case .beyondEndOfFile = error else { throw error }
                                readOK = false
                            }
                            let after = book.snapshot(p)
                            book.judge(p, ok: readOK, bytes: UnsafeRawBufferPointer(buffer), before: before, after: after)
                            judged.wrappingAdd(1, ordering: .relaxed)
                        }
                    case 3:  // mover: truncate, then regrow page by page (only at or past EOF) with new stamps
                        for _ in 0..<cycles {
                            let k = Int(rng.next() % UInt64(pages))
                            try book.truncate(to: k) { () throws(LoadError) -> Bool in
                                try bridged { () throws(FolioError) in try file.truncate(to: Int64(k * pageSize)) }
                                return true
                            }
                            let current = Int(try file.size()) / pageSize
                            for i in max(k, current)..<pages {
                                try book.write(i) { (v: UInt64) throws(LoadError) in
                                    Stamp.fill(buffer, page: i, version: v)
                                    try bridged { () throws(FolioError) in try file.write(UnsafeRawBufferPointer(buffer), at: Int64(i * pageSize)) }
                                }
                            }
                        }
                        stop.store(true, ordering: .releasing)
                    case 4:  // truncater: only shrinks, at page boundaries
                        while !stop.load(ordering: .acquiring) {
                            let k = Int(rng.next() % UInt64(pages + 1))
                            try book.truncate(to: k) { () throws(LoadError) -> Bool in
                                var did = false
                                try bridged { () throws(FolioError) in
                                    guard Int64(k * pageSize) < (try file.size()) else { return }
                                    try file.truncate(to: Int64(k * pageSize))
                                    did = true
                                }
                                return did
                            }
                            usleep(300)
                        }
                    default:  // evictor and flusher
                        while !stop.load(ordering: .acquiring) {
                            cache.shrink(toBytes: Int(rng.next() % 4) * pageSize)
                            if rng.next() % 8 == 0 { try file.flush() }
                            if !slowDisk { usleep(50) }
                        }
                    }
                } catch {
                    book.fail("thread \(t) threw \(error)")
                    stop.store(true, ordering: .releasing)
                }
            }
        }
        #expect(ok, "\(kind): threads stuck (seed \(seed))")
        #expect(book.verificationFailure() == nil, "\(kind) seed=\(seed): \(book.verificationFailure() ?? "")")
        #expect(judged.load(ordering: .relaxed) > 0, "no view access was judged")
        try file.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs a file operation inside the verifier's bookkeeping, which takes
/// `LoadError`.
func bridged(_ body: () throws(FolioError) -> Void) throws(LoadError) {
    do throws(FolioError) { try body() } catch { throw .engine("\(error)") }
}
