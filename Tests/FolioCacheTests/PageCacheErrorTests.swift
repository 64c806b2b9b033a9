import SystemPackage
import FolioCache
import FolioTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct PageCacheErrorTests {
    func memoryFile(_ kind: LockStrategyKind = .hybridFair, pageSize: Int = 512, capacity: Int = 64 * 512, contents: [UInt8] = [])
        throws -> (AnyPageCache, MemoryBackend, any CachedFileProtocol)
    {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: pageSize, capacity: capacity))
        let backend = MemoryBackend(path: "mem.dat", contents: contents)
        return (cache, backend, try cache.open(backend: backend))
    }

    @Test func invalidConfigurationsAreRejectedWithTheValue() {
        for (pageSize, capacity) in [(1000, 1 << 20), (256, 1 << 20), (128 * 1024, 1 << 30), (0, 1 << 20), (-4096, 1 << 20)] {
            #expect {
                _ = try AnyPageCache(strategy: .init(kind: .perPageBit), configuration: .init(pageSize: pageSize, capacity: capacity))
            } throws: { e in
                "\(e)".contains("pageSize \(pageSize)") && "\(e)".contains("power of two")
            }
        }
        #expect {
            _ = try AnyPageCache(strategy: .init(kind: .perRange), configuration: .init(pageSize: 4096, capacity: 100))
        } throws: { e in "\(e)".contains("capacity 100") }
    }

    @Test func badOffsetsAndLengths() throws {
        let (_, _, file) = try memoryFile()
        #expect { _ = try file.read(count: 10, at: -1) } throws: { "\($0)".contains("offset -1 is negative") && "\($0)".contains("mem.dat") }
        #expect { try file.write([1, 2, 3], at: -5) } throws: { "\($0)".contains("offset -5 is negative") }
        #expect { try file.write([1, 2, 3], at: Int64.max - 1) } throws: { "\($0)".contains("overflows") }
        #expect { _ = try file.read(count: 10, at: Int64.max - 2) } throws: { "\($0)".contains("overflows") }
        #expect { _ = try file.read(count: -1, at: 0) } throws: { "\($0)".contains("length -1 is negative") }
        #expect { try file.truncate(to: -1) } throws: { "\($0)".contains("size -1 is negative") }
        // Nothing was applied by the failed calls.
        #expect(try file.size() == 0)
    }

    /// A count far beyond EOF is clamped before anything is allocated: it
    /// used to allocate `count` bytes first (a trap at 1 TiB, 250 MiB and up
    /// to a second for 256 MiB of a 100-byte file).
    @Test(arguments: testedStrategies)
    func hugeCountsAreClampedToEOFBeforeAllocating(_ kind: LockStrategyKind) throws {
        let (_, _, file) = try memoryFile(kind, contents: (0..<4096).map { UInt8(truncatingIfNeeded: $0) })
        let all = try file.read(count: 1 << 40, at: 0)
        #expect(all.count == 4096)
        #expect(all == (0..<4096).map { UInt8(truncatingIfNeeded: $0) })
        #expect(try file.read(count: 256 << 20, at: 4000).count == 96)
        #expect(try file.read(count: 1 << 40, at: 4096).isEmpty)
        #expect(try file.read(count: 1 << 40, at: 1 << 41).isEmpty)
        try file.close()
        #expect(throws: FolioError.self) { _ = try file.read(count: 1 << 40, at: 0) }
    }

    @Test func closedHandlesThrowClosed() throws {
        let (_, _, file) = try memoryFile()
        try file.write([1], at: 0)
        try file.close()
        #expect(file.isClosed)
        let closed = FolioError.closed(path: "mem.dat")
        #expect(throws: closed) { _ = try file.read(count: 1, at: 0) }
        #expect(throws: closed) { try file.write([1], at: 0) }
        #expect(throws: closed) { _ = try file.size() }
        #expect(throws: closed) { try file.truncate(to: 0) }
        #expect(throws: closed) { try file.flush() }
        try file.close()  // closing again is a no-op
    }

    @Test func openFailuresNameThePath() throws {
        let cache = try AnyPageCache(strategy: .init(kind: .perPageBit))
        #expect(throws: FolioError.openFailed(path: "/nonexistent-dir/x", errno: Errno(rawValue: ENOENT))) {
            _ = try cache.open(path: "/nonexistent-dir/x")
        }
        let dir = temporaryDirectory()
        #expect(throws: FolioError.openFailed(path: dir, errno: Errno(rawValue: EISDIR))) { _ = try cache.open(path: dir) }
        #expect { _ = try cache.open(path: "") } throws: { "\($0)".contains("empty file path") }
        #expect { _ = try cache.open(path: "/nonexistent-dir/x") } throws: { "\($0)".contains("cannot open '/nonexistent-dir/x'") }
    }

    @Test(arguments: testedStrategies)
    func aFailedReadCachesNothing(_ kind: LockStrategyKind) throws {
        let (cache, backend, file) = try memoryFile(kind, contents: [UInt8](repeating: 7, count: 2048))
        backend.failNextReads(1)
        #expect { _ = try file.read(count: 100, at: 600) } throws: { e in
            "\(e)".contains("pread failed on 'mem.dat' at offset 512")
        }
        #expect(cache.statistics.residentBytes == 0)
        #expect(try file.read(count: 100, at: 600) == [UInt8](repeating: 7, count: 100))
    }

    @Test(arguments: testedStrategies)
    func aFailedPartialWriteChangesNothing(_ kind: LockStrategyKind) throws {
        let (_, backend, file) = try memoryFile(kind, contents: [UInt8](repeating: 7, count: 2048))
        backend.failNextReads(1)
        // Starts mid-page: the first page must be read first, and that fails.
        #expect(throws: FolioError.self) { try file.write([UInt8](repeating: 1, count: 1000), at: 100) }
        #expect(try file.read(count: 2048, at: 0) == [UInt8](repeating: 7, count: 2048))
        #expect(try file.size() == 2048)
    }

    @Test(arguments: testedStrategies)
    func writebackFailuresKeepDataDirty(_ kind: LockStrategyKind) throws {
        let (_, backend, file) = try memoryFile(kind)
        try file.write([UInt8](repeating: 3, count: 700), at: 0)
        backend.failNextWrites(1, errno: ENOSPC)
        #expect { try file.flush() } throws: { "\($0)".contains("pwrite failed on 'mem.dat' at offset 0") && "\($0)".contains("errno \(ENOSPC)") }
        // The data is still dirty: a second flush writes it.
        try file.flush()
        #expect(backend.contents == [UInt8](repeating: 3, count: 700))
    }

    /// A writeback error during eviction is reported to the next flush (once),
    /// and the data survives it.
    @Test(arguments: testedStrategies)
    func evictionWritebackErrorsReachTheNextFlush(_ kind: LockStrategyKind) throws {
        let (cache, backend, file) = try memoryFile(kind, capacity: 2 * 512)
        try file.write([UInt8](repeating: 1, count: 512), at: 0)
        backend.failNextWrites(100, errno: EIO)
        cache.shrink(toBytes: 0)  // eviction must write page 0 back, which fails
        #expect(cache.statistics.residentBytes == 512, "the folio stays while its writeback fails")
        backend.failNextWrites(0)
        // The flush itself now succeeds, but reports the earlier failure.
        #expect(throws: FolioError.io(operation: "pwrite", path: "mem.dat", offset: 0, errno: Errno(rawValue: EIO))) { try file.flush() }
        #expect(backend.contents == [UInt8](repeating: 1, count: 512))
        try file.flush()  // reported once
        #expect(backend.contents == [UInt8](repeating: 1, count: 512))
    }

    @Test func aFailingCloseLeavesTheFileOpenAndLosesNothing() throws {
        let (_, backend, file) = try memoryFile()
        try file.write([9, 9, 9], at: 10)
        backend.failNextWrites(1)
        #expect(throws: FolioError.self) { try file.close() }
        #expect(!file.isClosed)
        #expect(try file.read(count: 3, at: 10) == [9, 9, 9])
        try file.close()
        #expect(backend.contents.suffix(3) == [9, 9, 9])
    }

    @Test func syncFailuresAreReported() throws {
        let (_, backend, file) = try memoryFile()
        try file.write([1], at: 0)
        backend.failNextSyncs(1)
        #expect(throws: FolioError.io(operation: "fsync", path: "mem.dat", offset: nil, errno: Errno(rawValue: EIO))) { try file.sync() }
        try file.sync()
        #expect(backend.ioCounts.syncs == 1)
    }
}
