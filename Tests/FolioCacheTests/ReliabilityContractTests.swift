import SystemPackage
import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The sentences of docs/reliability.md that the sweeps (FaultSweepTests,
/// PowerLossTests, ProcessCrashTests) do not prove on their own, each
/// through the public API.
@Suite struct ReliabilityContractTests {
    static let pageSize = 512

    func cache(_ kind: LockStrategyKind = .hybridFair, pages: Int = 64) throws -> AnyPageCache {
        try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: pages * Self.pageSize))
    }

    /// "`flush()` hands dirty pages to the OS without fsync; `sync()` makes them durable."
    @Test(arguments: testedStrategies)
    func flushHandsPagesToTheOSAndSyncMakesThemDurable(_ kind: LockStrategyKind) throws {
        let backend = CrashSimulatingBackend(path: "flush", contents: [UInt8](repeating: 1, count: 2048))
        let file = try cache(kind).open(backend: backend)
        try file.write([UInt8](repeating: 2, count: 700), at: 100)
        try file.flush()
        #expect(Array(backend.contents[100..<800]) == [UInt8](repeating: 2, count: 700), "flush did not write the pages")
        #expect(backend.durableContents == [UInt8](repeating: 1, count: 2048), "flush made the pages durable: it must not fsync")
        try file.sync()
        #expect(Array(backend.durableContents[100..<800]) == [UInt8](repeating: 2, count: 700))
    }

    /// "`close()` syncs: after it returns, everything written through the handle is durable."
    @Test(arguments: testedStrategies)
    func closeSyncs(_ kind: LockStrategyKind) throws {
        let backend = CrashSimulatingBackend(path: "close", contents: [], identity: FileIdentity(device: 9, inode: 9))
        let c = try cache(kind)
        let a = try c.open(backend: backend)
        let b = try c.open(backend: backend)  // a second handle of the same file
        try a.write([UInt8](repeating: 5, count: 1000), at: 0)
        try a.close()  // not the last handle: syncs all the same
        #expect(backend.durableContents == [UInt8](repeating: 5, count: 1000))
        try b.write([UInt8](repeating: 6, count: 10), at: 2000)
        try b.close()  // the last
        #expect(backend.durableContents.count == 2010 && backend.durableContents.suffix(10) == [UInt8](repeating: 6, count: 10))
    }

    /// "The pages stay dirty and are retried unless the user discards them
    /// (`discardUnwrittenChanges()`)."
    @Test(arguments: testedStrategies)
    func dirtyPagesThatCannotBeWrittenStayUntilDiscarded(_ kind: LockStrategyKind) throws {
        let memory = MemoryBackend(path: "disk-full", contents: [UInt8](repeating: 1, count: 1024))
        let injector = FaultInjector(rules: [.init([.write], trigger: .always, fault: .error(ENOSPC))])
        let file = try cache(kind).open(backend: FaultInjectingBackend(wrapping: memory, injector: injector))
        try file.write([UInt8](repeating: 2, count: 100), at: 0)
        try file.write([UInt8](repeating: 3, count: 100), at: 1500)  // extends the file, in the cache only
        for _ in 0..<3 {
            #expect { try file.sync() } throws: { "\($0)".contains("errno \(ENOSPC)") }
            #expect(try file.read(count: 100, at: 0) == [UInt8](repeating: 2, count: 100), "the dirty page was dropped")
        }
        #expect(throws: FolioError.self) { try file.close() }
        #expect(!file.isClosed, "a close that cannot write back must leave the file open")
        try file.discardUnwrittenChanges()
        #expect(try file.size() == 1024, "after discarding, the size is the backend's")
        #expect(try file.read(count: 4096, at: 0) == [UInt8](repeating: 1, count: 1024))
        try file.sync()  // nothing dirty, nothing unreported
        try file.close()
        #expect(memory.contents == [UInt8](repeating: 1, count: 1024))
    }

    /// "A failed read caches nothing; the reader whose read failed gets the
    /// error, and every thread waiting for that page reads it again itself."
    @Test(arguments: testedStrategies, [false, true])
    func aFailedReadReachesEveryWaiter(_ kind: LockStrategyKind, persistent: Bool) throws {
        let contents = (0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let memory = MemoryBackend(path: "slow", contents: contents)
        memory.setReadDelay(microseconds: 20_000)  // the readers pile up on the page
        let injector = FaultInjector(rules: [.init([.read], trigger: persistent ? .always : .call(1), fault: .error(EIO))])
        let c = try cache(kind)
        let file = try c.open(backend: FaultInjectingBackend(wrapping: memory, injector: injector))
        let errors = Atomic<Int>(0)
        let wrong = Atomic<Int>(0)
        let threads = 4
        runThreads(threads) { _ in
            do throws(FolioError) {
                let got = try file.read(count: 100, at: 1024)
                if got != Array(contents[1024..<1124]) { wrong.add(1, ordering: .relaxed) }
            } catch {
                errors.add(1, ordering: .relaxed)
            }
        }
        #expect(wrong.load(ordering: .relaxed) == 0, "a waiter got bytes that are not the page's")
        if persistent {
            #expect(errors.load(ordering: .relaxed) == threads, "every reader of a page that cannot be read gets the error")
            #expect(c.statistics.residentBytes == 0, "a failed read cached something")
        } else {
            #expect(errors.load(ordering: .relaxed) == 1, "only the read that failed reports it; the waiters read again")
        }
    }

    /// "Too many open files: a typed error naming the file."
    @Test func tooManyOpenFilesIsATypedError() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let injector = FaultInjector(rules: [.init([.open], trigger: .always, fault: .error(EMFILE))])
        #expect(throws: FolioError.openFailed(path: directory + "/f", errno: Errno(rawValue: EMFILE))) {
            _ = try self.cache().open(backend: POSIXBackend(path: directory + "/f", systemCalls: injector.systemCalls()))
        }
        #expect("\(FolioError.openFailed(path: directory + "/f", errno: Errno(rawValue: EMFILE)))" == "cannot open '\(directory)/f': Too many open files (errno \(EMFILE))")
    }

    /// "A file removed underneath keeps working until closed (POSIX)."
    @Test func aFileRemovedUnderneathKeepsWorking() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/gone"
        let file = try cache().open(path: path)
        try file.write([UInt8](repeating: 4, count: 3000), at: 0)
        try file.sync()
        #expect(unlink(path) == 0)
        try file.write([UInt8](repeating: 8, count: 10), at: 0)
        try file.sync()
        #expect(try file.read(count: 10, at: 0) == [UInt8](repeating: 8, count: 10))
        try file.close()
    }

    /// "A file truncated underneath by another process: the cache keeps its
    /// own size; bytes the other process removed read as zeros — never a
    /// crash, never another offset's bytes."
    @Test(arguments: testedStrategies)
    func aFileTruncatedUnderneathReadsZeros(_ kind: LockStrategyKind) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/shrunk"
        let c = try cache(kind)
        let file = try c.open(path: path)
        try file.write([UInt8](repeating: 4, count: 4 * Self.pageSize), at: 0)
        try file.sync()
        c.shrink(toBytes: 0)
        #expect(truncate(path, off_t(Self.pageSize)) == 0)  // "another process"
        #expect(try file.size() == Int64(4 * Self.pageSize))
        let got = try file.read(count: 4 * Self.pageSize, at: 0)
        #expect(got == [UInt8](repeating: 4, count: Self.pageSize) + [UInt8](repeating: 0, count: 3 * Self.pageSize))
        try file.close()
    }
}
