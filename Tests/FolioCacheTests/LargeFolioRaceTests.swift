import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// The stamped race stress of `PageCacheRaceTests`, with large folios and
/// the threads that change them: readahead scanners (sequential reads fill
/// large folios), a collapser (`compact()` in a loop), a truncater (whose
/// cuts split large folios), an evictor (whose reclaim compresses cold large
/// folios; every later use decompresses them), writers, page readers, multi-page
/// readers (one copy per folio) and view readers (in place, across pages
/// of a large folio). A read must never be misplaced, torn (reads under the
/// lock), invented or stale.
@Suite struct LargeFolioRaceTests {
    @Test(arguments: testedStrategies)
    func stampedPagesSurviveCollapseSplitAndReadahead(_ kind: LockStrategyKind) throws {
        let pageSize = 512
        let pages = 32
        let seed = testSeed()
        print("LargeFolioRaceTests \(kind.rawValue): seed=\(seed), 2 writers + reader + multi-page reader + view reader + scanner + collapser + truncater/evictor")
        let cache = try AnyPageCache(
            strategy: .init(kind: kind, waitTableBuckets: 4),
            configuration: .init(pageSize: pageSize, capacity: 64 * pageSize, maxFolioOrder: 3,
                                 compression: CompressionConfiguration(enabled: true)))
        // Collapses and splits hold their locks 20 µs between the copy and the
        // swap: one that did not exclude writers would lose their writes.
        try #require(cache.base as? any PageCacheTestHooks).setReplaceHook { _, _ in usleep(20) }
        let memory = MemoryBackend(path: "large-folio-race")
        let file = try cache.open(backend: memory)
        for p in 0..<pages { try file.write(StampedFile.page(p, version: 0, pageSize: pageSize), at: Int64(p * pageSize)) }
        try file.flush()
        let view = try file.map(0..<Int64(pages * pageSize), mode: .readOnly)
        let book = RaceBook(pages: pages)
        let writers = 2
        let rounds = stressIterations(20_000)
        let stop = Atomic<Bool>(false)
        let ok = finishes(within: 300) {
            runThreads(writers + 6) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                /// Checks page `p` as read (`got`), given the book before the read.
                func checkPage(_ got: ArraySlice<UInt8>, _ p: Int, e0: UInt64, low: UInt64, what: String) {
                    let (version, error) = StampedFile.check(Array(got), index: p)
                    if let error { book.fail("\(what): \(error)") }
                    let (e1, highNow) = book.lock.withLock { (book.epoch, book.issued[p]) }
                    if let version, version > highNow { book.fail("\(what): page \(p) has version \(version), never written") }
                    if e0 == e1 && e0 % 2 == 0 && low > 0 && (version ?? 0) < low {
                        book.fail("\(what): stale page \(p): version \(version.map(String.init) ?? "zeros") after \(low) completed")
                    }
                }
                do {
                    switch t {
                    case 0..<writers:
                        // Writer 0 goes on past its rounds (up to 60 s) until the other
                        // threads have made large folios, collapsed and compressed them:
                        // at a low FOLIO_STRESS_SCALE, or under a sanitizer, the rounds
                        // alone can end before the scanner's first readahead.
                        let deadline = ContinuousClock.now + .seconds(60)
                        var done = 0
                        while done < rounds || (t == 0 && !exercised(cache.statistics) && ContinuousClock.now < deadline) {
                            let p = t + writers * Int(rng.next() % UInt64(pages / writers))
                            let (v, e0) = book.beginWrite(p)
                            try file.write(StampedFile.page(p, version: v, pageSize: pageSize), at: Int64(p * pageSize))
                            book.endWrite(p, v, since: e0)
                            done += 1
                        }
                        if t == 0 { stop.store(true, ordering: .releasing) }
                    case writers:  // page reader
                        while !stop.load(ordering: .acquiring) {
                            let p = Int(rng.next() % UInt64(pages))
                            let (e0, low) = book.lock.withLock { (book.epoch, book.committed[p]) }
                            let got = try file.read(count: pageSize, at: Int64(p * pageSize))
                            if got.count == pageSize { checkPage(got[...], p, e0: e0, low: low, what: "read") }
                        }
                    case writers + 1:  // multi-page reader: up to 8 pages in one call
                        while !stop.load(ordering: .acquiring) {
                            let first = Int(rng.next() % UInt64(pages))
                            let n = min(pages - first, 1 + Int(rng.next() % 8))
                            let (e0, lows) = book.lock.withLock { (book.epoch, Array(book.committed[first..<first + n])) }
                            let got = try file.read(count: n * pageSize, at: Int64(first * pageSize))
                            for i in 0..<got.count / pageSize {
                                checkPage(got[i * pageSize..<(i + 1) * pageSize], first + i, e0: e0, low: lows[i], what: "multi-page read")
                            }
                        }
                    case writers + 2:  // view reader: in place across pages of a folio, or copied
                        while !stop.load(ordering: .acquiring) {
                            let first = Int(rng.next() % UInt64(pages))
                            let n = min(pages - first, 1 + Int(rng.next() % 4))
                            do throws(FolioError) {
                                let got = try view.withUnsafeBytes(at: Int64(first * pageSize), count: n * pageSize) { [UInt8]($0) }
                                // Views read without the lock: a page may mix
                                // versions while a writer runs, and the copy
                                // above goes byte by byte in a debug build, so
                                // a stamp being written over a truncate's zeros
                                // can be caught half-way (CI saw file id
                                // f0110000: byte 0 still zero, bytes 1-3
                                // written). The file id and page bytes are the
                                // same in every version, so each of them must be
                                // this file's and this page's, or zero.
                                for i in 0..<n {
                                    let expected = StampedFile.page(first + i, version: 0, pageSize: StampedFile.stampSize)
                                    var bad: Int? = nil
                                    for s in stride(from: i * pageSize, to: (i + 1) * pageSize, by: StampedFile.stampSize) {
                                        for b in 0..<8 where got[s + b] != 0 && got[s + b] != expected[b] { bad = s; break }
                                        if bad != nil { break }
                                    }
                                    if let s = bad {
                                        let stamp = got[s..<s + 8].map { String(format: "%02x", $0) }.joined(separator: " ")
                                        book.fail("view read of page \(first + i) found stamp bytes [\(stamp)] at byte \(s - i * pageSize), neither this page's nor zero")
                                        break
                                    }
                                }
                            } catch {
                                guard case .beyondEndOfFile = error else { throw error }
                            }
                        }
                    case writers + 3:  // scanner: sequential page reads (readahead)
                        while !stop.load(ordering: .acquiring) {
                            let first = Int(rng.next() % UInt64(pages))
                            for p in first..<pages {
                                let (e0, low) = book.lock.withLock { (book.epoch, book.committed[p]) }
                                let got = try file.read(count: pageSize, at: Int64(p * pageSize))
                                if got.count == pageSize { checkPage(got[...], p, e0: e0, low: low, what: "scan") }
                            }
                        }
                    case writers + 4:  // collapser
                        while !stop.load(ordering: .acquiring) {
                            try file.compact()
                        }
                    default:  // truncater (cuts through large folios) and evictor
                        while !stop.load(ordering: .acquiring) {
                            if rng.next() % 4 == 0 {
                                let k = Int(rng.next() % UInt64(pages + 1))
                                let down = rng.next() % 2 == 0
                                try book.truncating(cutFrom: down ? k : nil) {
                                    try file.truncate(to: down ? Int64(k * pageSize) : max(try file.size(), Int64(k * pageSize)))
                                }
                            } else {
                                cache.shrink(toBytes: Int(rng.next() % 40) * pageSize)
                                if rng.next() % 8 == 0 { try file.flush() }
                            }
                            usleep(100)
                        }
                    }
                } catch {
                    book.fail("thread \(t) threw \(error)")
                    stop.store(true, ordering: .releasing)
                }
            }
        }
        book.expectClean(finished: ok, kind, seed: seed)
        let s = cache.statistics
        print("LargeFolioRaceTests \(kind.rawValue): readahead folios \(s.readaheadFolios), collapses \(s.collapses), aborts \(s.collapseAborts), splits \(s.splits), compressions \(s.compressions), decompressions \(s.decompressions)")
        #expect(exercised(s), "\(kind): large folios were not exercised (\(s))")
        let before = try file.read(count: pages * pageSize, at: 0)
        try file.close()
        #expect(memory.contents == before, "\(kind): the backend differs from the cache's last view")
    }
}

/// Whether a race run made large folios by readahead, collapsed and compressed some.
private func exercised(_ s: CacheStatistics) -> Bool {
    s.readaheadFolios > 0 && s.collapses > 0 && s.compressions > 0
}
