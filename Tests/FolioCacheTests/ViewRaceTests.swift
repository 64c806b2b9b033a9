import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// The seed's race, as a test: threads fault pages through views while a
/// mover truncates the file and grows it again by writing stamped pages
/// (so folios freed at one index are recycled at others all the time), a
/// truncater cuts it down, and an evictor shrinks the cache and flushes.
///
/// Every page carries (file id, index, version) stamps. A view access must
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
    @Test(arguments: LockStrategyKind.allCases, [false, true])
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
        let book = ViewRaceBook(pages: pages)
        let shared = try file.map(0..<Int64(pages * pageSize))
        let stop = Atomic<Bool>(false)
        let cycles = stressIterations(400)
        let ok = finishes(within: 300) {
            runThreads(6) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                do {
                    switch t {
                    case 0..<3:  // view readers: two share a view, one has its own
                        let view = t == 2 ? try file.map(0..<Int64(pages * pageSize)) : shared
                        while !stop.load(ordering: .acquiring) {
                            let p = Int(rng.next() % UInt64(pages))
                            let before = book.snapshot(p)
                            var got: [UInt8]? = nil
                            var threw: FolioError? = nil
                            do throws(FolioError) {
                                if rng.next() % 2 == 0 {
                                    got = try view.withUnsafeBytes(at: p * pageSize, count: pageSize) { bytes in
                                        // Pinned: the bytes must not change under us.
                                        let first = [UInt8](bytes)
                                        return [UInt8](bytes) == first ? first : []
                                    }
                                } else {
                                    got = try view.copyBytes(at: p * pageSize, count: pageSize)
                                }
                            } catch {
                                threw = error
                            }
                            let after = book.snapshot(p)
                            book.judge(p, got: got, threw: threw, before: before, after: after, pageSize: pageSize)
                        }
                    case 3:  // mover: truncate, then regrow page by page with new stamps
                        for _ in 0..<cycles {
                            let k = Int(rng.next() % UInt64(pages))
                            try book.truncate(to: k) { () throws(FolioError) -> Bool in try file.truncate(to: Int64(k * pageSize)); return true }
                            let current = Int(try file.size()) / pageSize
                            for i in max(k, current)..<pages {
                                try book.write(i) { (v: UInt64) throws(FolioError) in
                                    try file.write(StampedFile.page(i, version: v, pageSize: pageSize), at: Int64(i * pageSize))
                                }
                            }
                        }
                        stop.store(true, ordering: .releasing)
                    case 4:  // truncater: only shrinks, at page boundaries
                        while !stop.load(ordering: .acquiring) {
                            let k = Int(rng.next() % UInt64(pages + 1))
                            try book.truncate(to: k) { () throws(FolioError) -> Bool in
                                let s = try file.size()
                                guard Int64(k * pageSize) < s else { return false }
                                try file.truncate(to: Int64(k * pageSize))
                                return true
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
        let failures = book.failures()
        #expect(failures.isEmpty, "\(kind) seed=\(seed): \(failures.joined(separator: "\n"))")
        #expect(book.judged() > 0, "no view access was judged")
        try file.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// What the file holds, as far as the test knows, and when it changed.
final class ViewRaceBook: @unchecked Sendable {
    // @unchecked Sendable: every field is accessed under `lock`.
    let lock = TestLock()
    /// Bumped when anything that changes the file starts and when it ends.
    var changes: UInt64 = 0
    /// Operations changing the file right now.
    var inFlight = 0
    /// EOF in pages (the test only cuts and grows at page boundaries).
    var eofPages = 0
    /// Version each page holds (0: zeros — a hole, or not written since cut).
    var content: [UInt64]
    var nextVersion: UInt64 = 0
    var failureList: [String] = []
    var judgedCount = 0

    struct Snapshot { let changes: UInt64; let inFlight: Int; let eofPages: Int; let content: UInt64; let maxVersion: UInt64 }

    init(pages: Int) { content = [UInt64](repeating: 0, count: pages) }

    func fail(_ s: String) { lock.withLock { if failureList.count < 10 { failureList.append(s) } } }
    func failures() -> [String] { lock.withLock { failureList } }
    func judged() -> Int { lock.withLock { judgedCount } }

    func snapshot(_ p: Int) -> Snapshot {
        lock.withLock { Snapshot(changes: changes, inFlight: inFlight, eofPages: eofPages, content: content[p], maxVersion: nextVersion) }
    }

    private func begin() { lock.withLock { changes += 1; inFlight += 1 } }

    /// Serializes the mover's and the truncater's changes with their
    /// bookkeeping (readers and the evictor still race with both): without
    /// it, a truncate and a write could reach the file in one order and the
    /// book in the other.
    let mutation = TestLock()

    /// Runs a truncate to `k` pages (the body returns whether it truncated).
    func truncate(to k: Int, _ body: () throws(FolioError) -> Bool) throws(FolioError) {
        mutation.lock()
        defer { mutation.unlock() }
        begin()
        var did = false
        defer {
            lock.withLock {
                if did {
                    eofPages = k
                    for p in k..<content.count { content[p] = 0 }
                }
                changes += 1
                inFlight -= 1
            }
        }
        did = try body()
    }

    /// Runs the write of page `i` with a new version.
    func write(_ i: Int, _ body: (UInt64) throws(FolioError) -> Void) throws(FolioError) {
        mutation.lock()
        defer { mutation.unlock() }
        let v = beginWrite(i)
        var done = false
        defer { if done { endWrite(i, v) } else { lock.withLock { changes += 1; inFlight -= 1 } } }
        try body(v)
        done = true
    }

    func beginWrite(_ i: Int) -> UInt64 {
        lock.withLock {
            changes += 1
            inFlight += 1
            nextVersion += 1
            return nextVersion
        }
    }

    func endWrite(_ i: Int, _ v: UInt64) {
        lock.withLock {
            // Pages between the old EOF and i are a hole: zeros.
            if eofPages < i { for p in eofPages..<i { content[p] = 0 } }
            eofPages = max(eofPages, i + 1)
            content[i] = v
            changes += 1
            inFlight -= 1
        }
    }

    /// Checks one view access of page `p`.
    func judge(_ p: Int, got: [UInt8]?, threw: FolioError?, before: Snapshot, after: Snapshot, pageSize: Int) {
        // Quiet: nothing changed the file from before the access to after it.
        let quiet = before.changes == after.changes && before.inFlight == 0
        lock.withLock { judgedCount += 1 }
        if let threw {
            guard case .beyondEndOfFile = threw else { return fail("page \(p): view access threw \(threw)") }
            if quiet && p < before.eofPages { fail("page \(p): spurious beyondEndOfFile below EOF (\(before.eofPages) pages), nothing changed meanwhile") }
            return
        }
        guard let got else { return fail("page \(p): no bytes and no error") }
        if got.isEmpty { return fail("page \(p): bytes changed under a pinned in-place access") }
        if got.count != pageSize { return fail("page \(p): \(got.count) bytes") }
        let (version, error) = StampedFile.check(got, index: p)
        if let error { return fail(error) }
        if let version, version > after.maxVersion { return fail("page \(p): version \(version) never written") }
        guard quiet else { return }
        if p >= before.eofPages {
            fail("page \(p): returned \(version.map { "version \($0)" } ?? "zeros") past EOF (\(before.eofPages) pages), nothing changed meanwhile")
        } else if (version ?? 0) != before.content {
            fail("page \(p): stale or wrong: read \(version.map { "version \($0)" } ?? "zeros"), the page holds \(before.content == 0 ? "zeros" : "version \(before.content)")")
        }
    }
}
