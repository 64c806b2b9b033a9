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
