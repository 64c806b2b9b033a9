import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// Concurrent race stress: writers, readers, a truncater and an evictor on one
/// file. Every written page is stamped throughout with (file id, page index,
/// version), so any read can prove it is neither misplaced (wrong file or
/// index), torn (two versions in one page), invented (a version never
/// written) nor stale (older than a write that completed before the read
/// began, with no truncate in between).
struct StampedFile {
    static let fileID: UInt32 = 0xF011_0001
    static let stampSize = 16

    static func page(_ index: Int, version: UInt64, pageSize: Int, fileID: UInt32 = StampedFile.fileID) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pageSize)
        out.withUnsafeMutableBytes { buf in
            for s in stride(from: 0, to: pageSize, by: stampSize) {
                buf.storeBytes(of: fileID.littleEndian, toByteOffset: s, as: UInt32.self)
                buf.storeBytes(of: UInt32(index).littleEndian, toByteOffset: s + 4, as: UInt32.self)
                buf.storeBytes(of: version.littleEndian, toByteOffset: s + 8, as: UInt64.self)
            }
        }
        return out
    }

    /// Decodes a page: nil version for an all-zero page, or an error string.
    static func check(_ bytes: [UInt8], index: Int, fileID: UInt32 = StampedFile.fileID) -> (version: UInt64?, error: String?) {
        var first: (UInt32, UInt32, UInt64)? = nil
        var problem: String? = nil
        bytes.withUnsafeBytes { buf in
            for s in stride(from: 0, to: bytes.count, by: stampSize) {
                let stamp = (UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: s, as: UInt32.self)),
                             UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: s + 4, as: UInt32.self)),
                             UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: s + 8, as: UInt64.self)))
                if let f = first, f != stamp {
                    problem = "torn page \(index): stamp \(stamp) at byte \(s) differs from \(f) at byte 0"
                    return
                }
                first = stamp
            }
        }
        if let problem { return (nil, problem) }
        guard let (file, page, version) = first else { return (nil, nil) }
        if file == 0 && page == 0 && version == 0 { return (nil, nil) }
        if file != fileID { return (nil, "page \(index) of file \(String(fileID, radix: 16)) carries file id \(String(file, radix: 16))") }
        if page != UInt32(index) { return (nil, "misplaced: page \(index) carries the stamp of page \(page) (version \(version))") }
        return (version, nil)
    }
}

/// Bookkeeping shared by the threads, guarded by one test lock.
final class RaceBook: @unchecked Sendable {
    // @unchecked Sendable: every field is accessed under `lock`.
    let lock = TestLock()
    /// Incremented when a truncate starts and when it ends (odd: in progress).
    var epoch: UInt64 = 0
    var committed: [UInt64]
    var issued: [UInt64]
    var failures: [String] = []
    init(pages: Int) {
        committed = [UInt64](repeating: 0, count: pages)
        issued = [UInt64](repeating: 0, count: pages)
    }
    func fail(_ s: String) { lock.withLock { if failures.count < 10 { failures.append(s) } } }

    /// A writer of page `p` is about to write: its version, and the epoch
    /// to hand to `endWrite`.
    func beginWrite(_ p: Int) -> (version: UInt64, epoch: UInt64) {
        lock.withLock {
            issued[p] += 1
            return (issued[p], epoch)
        }
    }

    /// The write of version `v` that began in epoch `e0` completed: commit it
    /// only if no truncate was in progress when it began or started since
    /// (a truncate may have cut the page).
    func endWrite(_ p: Int, _ v: UInt64, since e0: UInt64) {
        lock.withLock {
            if epoch == e0 && e0 % 2 == 0 { committed[p] = max(committed[p], v) }
        }
    }

    /// Runs a truncate (`cut`: the first page it drops, nil for a grow)
    /// between two epoch steps, forgetting the commits it may have cut.
    func truncating(cutFrom cut: Int?, _ body: () throws -> Void) rethrows {
        lock.withLock { epoch += 1 }
        defer { lock.withLock { epoch += 1 } }
        try body()
        if let cut { lock.withLock { for p in cut..<committed.count { committed[p] = 0 } } }
    }

    /// Records a test issue unless the threads finished and nothing failed.
    func expectClean(finished: Bool, _ kind: LockStrategyKind, seed: UInt64) {
        #expect(finished, "\(kind): threads stuck (seed \(seed))")
        let failures = lock.withLock { self.failures }
        #expect(failures.isEmpty, "\(kind) seed=\(seed): \(failures.joined(separator: "\n"))")
    }
}

@Suite struct PageCacheRaceTests {
    /// On a real file, and on a memory backend with slow writes (writeback
    /// then holds page locks for 30 µs, widening every race with eviction).
    @Test(arguments: testedStrategies, [false, true])
    func stampedPagesAreNeverStaleOrMisplaced(_ kind: LockStrategyKind, slowDisk: Bool) throws {
        let pageSize = 512
        let pages = 24
        let seed = testSeed()
        print("PageCacheRaceTests \(kind.rawValue) slowDisk=\(slowDisk): seed=\(seed), 3 writers + 2 readers + truncater + evictor")
        let cache = try AnyPageCache(
            strategy: .init(kind: kind, waitTableBuckets: 4),
            configuration: .init(pageSize: pageSize, capacity: 10 * pageSize))
        let path = temporaryDirectory() + "/race-\(kind.rawValue)"
        let memory = MemoryBackend(path: "slow-disk")
        memory.setWriteDelay(microseconds: 30)
        let file = slowDisk ? try cache.open(backend: memory) : try cache.open(path: path, options: [.create, .truncate])
        let book = RaceBook(pages: pages)
        let writers = 3
        let rounds = stressIterations(1_500)
        let stop = Atomic<Bool>(false)
        let ok = finishes(within: 300) {
            runThreads(writers + 4) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                do {
                    switch t {
                    case 0..<writers:  // writer t owns pages p with p % writers == t
                        for _ in 0..<rounds {
                            let p = t + writers * Int(rng.next() % UInt64(pages / writers))
                            let (v, e0) = book.beginWrite(p)
                            try file.write(StampedFile.page(p, version: v, pageSize: pageSize), at: Int64(p * pageSize))
                            book.endWrite(p, v, since: e0)
                        }
                        if t == 0 { stop.store(true, ordering: .releasing) }
                    case writers..<writers + 2:  // readers
                        while !stop.load(ordering: .acquiring) {
                            let p = Int(rng.next() % UInt64(pages))
                            let (e0, low, high) = book.lock.withLock { (book.epoch, book.committed[p], book.issued[p]) }
                            let got = try file.read(count: pageSize, at: Int64(p * pageSize))
                            let e1 = book.lock.withLock { book.epoch }
                            let quiet = e0 == e1 && e0 % 2 == 0  // no truncate overlapped the read
                            if got.count != 0 && got.count != pageSize {
                                book.fail("read of page \(p) returned \(got.count) bytes (sizes are page multiples)")
                                continue
                            }
                            let (version, error) = got.isEmpty ? (nil, nil) : StampedFile.check(got, index: p)
                            if let error { book.fail(error) }
                            let highNow = book.lock.withLock { book.issued[p] }
                            if let version, version > highNow { book.fail("page \(p) has version \(version), never written (max \(high)…\(highNow))") }
                            if quiet && low > 0 && (version ?? 0) < low {
                                book.fail("stale: page \(p) read version \(version.map(String.init) ?? (got.isEmpty ? "EOF" : "zeros")) after version \(low) completed, no truncate in between")
                            }
                        }
                    case writers + 2:  // truncater: cut and regrow at page boundaries
                        while !stop.load(ordering: .acquiring) {
                            let k = Int(rng.next() % UInt64(pages + 1))
                            let down = rng.next() % 2 == 0
                            try book.truncating(cutFrom: down ? k : nil) {
                                try file.truncate(to: down ? Int64(k * pageSize) : max(try file.size(), Int64(k * pageSize)))
                            }
                            usleep(200)
                        }
                    default:  // evictor and flusher
                        while !stop.load(ordering: .acquiring) {
                            cache.shrink(toBytes: Int(rng.next() % 6) * pageSize)
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
        book.expectClean(finished: ok, kind, seed: seed)
        // Everything that survived is on disk after close, exactly as read.
        let before = try file.read(count: pages * pageSize, at: 0)
        try file.close()
        let disk = slowDisk ? memory.contents : try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(disk == before, "\(kind): file on disk differs from the cache's last view")
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Two files in one cache share its folio pool: a folio evicted from one file
/// is recycled for the other. Readers of both (through the lock-free lookup)
/// must never get a page of the other file, or of another index, while an
/// evictor recycles folios as fast as it can and a writer keeps re-stamping.
@Suite struct MultiFileRaceTests {
    @Test(arguments: testedStrategies)
    func recycledFoliosNeverLeakAcrossFiles(_ kind: LockStrategyKind) throws {
        let pageSize = 512
        let pages = 16
        let seed = testSeed()
        print("MultiFileRaceTests \(kind.rawValue): seed=\(seed), 4 readers + writer + evictor, 2 files")
        let cache = try AnyPageCache(
            strategy: .init(kind: kind, waitTableBuckets: 4),
            configuration: .init(pageSize: pageSize, capacity: 6 * pageSize))
        let ids: [UInt32] = [0xA0A0_0001, 0xB0B0_0002]
        let files = try ids.map { _ in try cache.open(backend: MemoryBackend()) }
        for (f, id) in zip(files, ids) {
            for p in 0..<pages { try f.write(StampedFile.page(p, version: 1, pageSize: pageSize, fileID: id), at: Int64(p * pageSize)) }
        }
        let book = RaceBook(pages: pages)
        let stop = Atomic<Bool>(false)
        let rounds = stressIterations(3_000)
        let ok = finishes(within: 300) {
            runThreads(6) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                do {
                    switch t {
                    case 0..<4:  // readers
                        for _ in 0..<rounds {
                            let which = Int(rng.next() % 2)
                            let p = Int(rng.next() % UInt64(pages))
                            let got = try files[which].read(count: pageSize, at: Int64(p * pageSize))
                            if got.count != pageSize { book.fail("short read \(got.count) of page \(p)"); continue }
                            let (version, error) = StampedFile.check(got, index: p, fileID: ids[which])
                            if let error { book.fail(error) }
                            if version == nil { book.fail("page \(p) of file \(which) read as zeros") }
                        }
                        if t == 0 { stop.store(true, ordering: .releasing) }
                    case 4:  // writer: re-stamp pages with new versions
                        var v: UInt64 = 2
                        while !stop.load(ordering: .acquiring) {
                            let which = Int(rng.next() % 2)
                            let p = Int(rng.next() % UInt64(pages))
                            try files[which].write(StampedFile.page(p, version: v, pageSize: pageSize, fileID: ids[which]), at: Int64(p * pageSize))
                            v += 1
                        }
                    default:  // evictor
                        while !stop.load(ordering: .acquiring) {
                            cache.shrink(toBytes: Int(rng.next() % 3) * pageSize)
                        }
                    }
                } catch {
                    book.fail("thread \(t) threw \(error)")
                    stop.store(true, ordering: .releasing)
                }
            }
        }
        book.expectClean(finished: ok, kind, seed: seed)
        for f in files { try f.close() }
    }
}
