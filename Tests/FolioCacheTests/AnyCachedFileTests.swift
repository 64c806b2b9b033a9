import FolioCache
import Testing

/// Generic code over `CachedFileProtocol` runs with a strategy's concrete
/// `CachedFile` and with the run-time-chosen `AnyCachedFile` alike —
/// including a generic type that stores the file, which an existential
/// (`any CachedFileProtocol`) could not instantiate.
@Suite struct AnyCachedFileTests {
    /// A generic user of files: appends records, reads them back.
    final class RecordLog<File: CachedFileProtocol> {
        let file: File
        init(_ file: File) { self.file = file }
        func append(_ record: some Collection<UInt8>) throws(FolioError) {
            try file.write(record, at: try file.size())
        }
        func all() throws(FolioError) -> [UInt8] { try file.read(count: Int(try file.size()), at: 0) }
    }

    func roundTrip<File: CachedFileProtocol>(_ file: File) throws -> [UInt8] {
        let log = RecordLog(file)
        try log.append([1, 2])
        try log.append([3, 4, 5][1...])
        return try log.all()
    }

    @Test(arguments: testedStrategies)
    func genericCodeTakesBothKinds(_ kind: LockStrategyKind) throws {
        let anyCache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 4096, capacity: 1 << 20))
        let anyFile: AnyCachedFile = try anyCache.open(backend: MemoryBackend(path: "any"))
        #expect(try roundTrip(anyFile) == [1, 2, 4, 5], "\(kind)")
        // The stored type is AnyCachedFile itself.
        let stored: RecordLog<AnyCachedFile> = RecordLog(anyFile)
        #expect(try stored.all() == [1, 2, 4, 5])
        // An existential from elsewhere wraps once.
        let existential: any CachedFileProtocol = anyFile
        let wrapped = AnyCachedFile(existential)
        #expect(wrapped.base === anyFile.base && !(wrapped.base is AnyCachedFile))
        #expect(wrapped.mode == .readWrite && wrapped.path == "any")
        let view = try wrapped.map(0..<4)
        #expect(try view.load(at: 2, as: UInt16.self) == UInt16(4) | UInt16(5) << 8)
        try wrapped.close()
        #expect(anyFile.isClosed)

        let concrete = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: 4096, capacity: 1 << 20))
        let file = try concrete.open(backend: MemoryBackend(path: "concrete"))
        #expect(try roundTrip(file) == [1, 2, 4, 5])
    }
}

/// The async API through generic code (`<F: CachedFileProtocol>` uses
/// `file.async`) and through `AnyCachedFile.async` / an existential view's
/// `async`: the same bytes as the synchronous calls, every strategy, with
/// misses (a 4-page budget over a 16-page file) and a hop for each of
/// flush, sync, truncate and close.
@Suite struct AnyAsyncCachedFileTests {
    static let pageSize = 4096

    /// A generic async user of files: writes a pattern over 16 pages, reads
    /// it back page by page and whole, truncates, and closes.
    func exercise<File: CachedFileProtocol>(_ file: File) async throws -> [String] {
        var problems: [String] = []
        let pages = 16
        let pattern = (0..<(pages * Self.pageSize)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 12) }
        let a = file.async
        try await a.write(pattern, at: 0)
        try await a.flush()
        if try a.size() != Int64(pattern.count) { problems.append("size \(try a.size())") }
        // Page by page into a caller's buffer (misses: the budget is 4 pages).
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.pageSize, alignment: 16)
        defer { buffer.deallocate() }
        for p in (0..<pages).reversed() {
            let n = try await a.read(into: buffer, at: Int64(p * Self.pageSize))
            if n != Self.pageSize || Array(buffer) != Array(pattern[(p * Self.pageSize)..<((p + 1) * Self.pageSize)]) {
                problems.append("page \(p): \(n) bytes, wrong content")
            }
        }
        // Across pages, ending past EOF.
        let tail = try await a.read(count: 3 * Self.pageSize, at: Int64(pattern.count - Self.pageSize - 100))
        if tail != Array(pattern[(pattern.count - Self.pageSize - 100)...]) { problems.append("tail read (\(tail.count) bytes)") }
        // A raw-buffer write in the middle of a page, then the sync one agrees.
        let patch: [UInt8] = [0xAA, 0xBB, 0xCC]
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: patch.count, alignment: 1)
        defer { copy.deallocate() }
        patch.withUnsafeBytes { copy.copyMemory(from: $0) }
        try await a.write(UnsafeRawBufferPointer(copy), at: 5000)
        if try file.read(count: 3, at: 5000) != patch { problems.append("raw write not seen by the synchronous read") }
        try await a.sync()
        try await a.truncate(to: 6000)
        if try a.size() != 6000 { problems.append("size after truncate \(try a.size())") }
        if try await a.read(count: 10, at: 5995) != Array(pattern[5995..<6000]) { problems.append("read at the new EOF") }
        // A view's async API, through whatever view type the file maps.
        let view = try file.map(0..<6000, mode: .readWrite)
        try await view.async.prefault(at: 4000, count: 2000)
        if try await view.async.copyBytes(at: 4999, count: 4) != [pattern[4999]] + patch { problems.append("view copy") }
        try await view.async.store([1, 2], at: 10)
        if try file.read(count: 2, at: 10) != [1, 2] { problems.append("view store not seen") }
        view.unmap()
        try await a.close()
        if !file.isClosed { problems.append("not closed") }
        return problems
    }

    @Test(arguments: testedStrategies)
    func genericAsyncCodeTakesBothKinds(_ kind: LockStrategyKind) async throws {
        let configuration = PageCacheConfiguration(pageSize: Self.pageSize, capacity: 4 * Self.pageSize)
        let anyCache = try AnyPageCache(strategy: .init(kind: kind), configuration: configuration)
        let anyFile: AnyCachedFile = try anyCache.open(backend: MemoryBackend(path: "any"))
        let problems = try await exercise(anyFile)
        #expect(problems.isEmpty, "\(kind), AnyCachedFile: \(problems)")
        #expect(anyCache.statistics.misses > 0 && anyCache.statistics.asyncHops >= 4, "\(kind): \(anyCache.statistics)")

        // The strategy's own CachedFile through the same generic code.
        struct Open: LockStrategyVisitor {
            let configuration: PageCacheConfiguration
            func visit<S: LockStrategy>(_ strategy: S) -> @Sendable () async throws -> [String] {
                let configuration = self.configuration
                return {
                    let cache = try PageCache(strategy: strategy, configuration: configuration)
                    return try await AnyAsyncCachedFileTests().exercise(try cache.open(backend: MemoryBackend(path: "concrete")))
                }
            }
        }
        let concrete = try await LockStrategyConfiguration(kind: kind).visit(Open(configuration: configuration))()
        #expect(concrete.isEmpty, "\(kind), CachedFile: \(concrete)")
    }

    /// `AnyAsyncCachedFile` wraps once, and an error is the engine's.
    @Test func wrapsOnceAndReportsErrors() async throws {
        let cache = try AnyPageCache(strategy: .init(kind: .perPageBit), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let file: AnyCachedFile = try cache.open(backend: MemoryBackend(path: "e"))
        let twice = AnyAsyncCachedFile(file.async)
        #expect(!(twice.base is AnyAsyncCachedFile))
        await #expect(throws: FolioError.self) { _ = try await twice.read(count: 1, at: -1) }
        try await twice.close()
        await #expect(throws: FolioError.self) { try await twice.write([1], at: 0) }
    }
}
