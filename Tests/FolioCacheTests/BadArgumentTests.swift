import FolioCache
import FolioTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every public entry point called with bad arguments — negative or
/// overflowing offsets and lengths, closed handles, views out of range,
/// unmapped or outliving their file, invalid configuration values — throws a
/// typed error whose message names the bad value, and changes nothing.
/// (Offsets and lengths of `read`/`write`/`truncate`: PageCacheErrorTests.)
@Suite struct BadArgumentTests {
    func open(_ contents: [UInt8] = [UInt8](repeating: 1, count: 3000)) throws -> (AnyPageCache, any CachedFileProtocol) {
        let cache = try AnyPageCache(strategy: .init(kind: .hybridFair), configuration: .init(pageSize: 512, capacity: 64 * 512))
        return (cache, try cache.open(backend: MemoryBackend(path: "bad.dat", contents: contents)))
    }

    func expectInvalid(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        #expect(sourceLocation: sourceLocation) { try body() } throws: { e in
            guard case FolioError.invalidArgument(let what)? = e as? FolioError else { return false }
            return what.contains(fragment)
        }
    }

    @Test func configurationValuesAreNamed() {
        expectInvalid("pageSize 3000") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(pageSize: 3000, capacity: 1 << 20)) }
        expectInvalid("capacity 2 bytes") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(pageSize: 4096, capacity: 2)) }
        expectInvalid("capacity \(1 << 41) bytes") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(pageSize: 4096, capacity: 1 << 41)) }
        expectInvalid("faultAroundPages -1") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(faultAroundPages: -1)) }
        expectInvalid("maxFolioOrder 40") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(maxFolioOrder: 40)) }
        expectInvalid("maxFolioOrder -1") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(maxFolioOrder: -1)) }
        expectInvalid("writebackInterval") { _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(writebackInterval: .nanoseconds(1))) }
        expectInvalid("compression.minimumSaving 1.5") {
            _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(compression: CompressionConfiguration(enabled: true, minimumSaving: 1.5)))
        }
        expectInvalid("compression.maximumShare 0.0") {
            _ = try AnyPageCache(strategy: .init(kind: .perInode), configuration: .init(compression: CompressionConfiguration(enabled: true, maximumShare: 0)))
        }
        expectInvalid("waitTableBuckets 3") { _ = try AnyPageCache(strategy: .init(kind: .hybridFair, waitTableBuckets: 3)) }
    }

    @Test func viewRangesAreNamed() throws {
        let (_, file) = try open()
        expectInvalid("offset -1 is negative") { _ = try file.makeView(-1..<10, mode: .readOnly, faultAround: nil) }
        expectInvalid("is too large") { _ = try file.makeView(-5..<Int64.max, mode: .readOnly, faultAround: nil) }
        expectInvalid("faultAround 99999") { _ = try file.makeView(0..<10, mode: .readOnly, faultAround: 99_999) }
        let view = try file.makeView(1000..<2000, mode: .readWrite, faultAround: nil)
        expectInvalid("10 bytes at offset 995") { _ = try view.copyBytes(at: 995, count: 10) }
        expectInvalid("1 bytes at offset -1") { _ = try view.copyBytes(at: -1, count: 1) }
        expectInvalid("-4 bytes at offset 0") { _ = try view.copyBytes(at: 0, count: -4) }
        expectInvalid("3 bytes at offset \(Int.max)") { try view.store([1, 2, 3], at: Int64.max) }
        // Nothing changed.
        #expect(try file.read(count: 3000, at: 0) == [UInt8](repeating: 1, count: 3000))
    }

    @Test func viewsPastEOFUnmappedReadOnlyAndOutlivingTheirFile() throws {
        let (_, file) = try open()
        let view = try file.makeView(0..<8192, mode: .readWrite, faultAround: nil)
        #expect(throws: FolioError.beyondEndOfFile(path: "bad.dat", offset: 3000, size: 3000)) { _ = try view.copyBytes(at: 2990, count: 20) }
        let readOnly = try file.makeView(0..<100, mode: .readOnly, faultAround: nil)
        #expect(throws: FolioError.readOnlyView(path: "bad.dat")) { try readOnly.store([9], at: 0) }
        readOnly.unmap()
        #expect(throws: FolioError.unmapped(path: "bad.dat")) { _ = try readOnly.copyBytes(at: 0, count: 1) }
        try file.close()
        #expect(throws: FolioError.closed(path: "bad.dat")) { _ = try view.copyBytes(at: 0, count: 1) }
        #expect(throws: FolioError.closed(path: "bad.dat")) { try view.store([1], at: 0) }
    }

    @Test func everyCallOnAClosedHandleThrowsClosed() throws {
        let (_, file) = try open()
        try file.close()
        let closed = FolioError.closed(path: "bad.dat")
        var buffer = [UInt8](repeating: 0, count: 8)
        #expect(throws: closed) { _ = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: 0) } }
        #expect(throws: closed) { _ = try file.read(count: 1, at: 0) }
        #expect(throws: closed) { try [UInt8](repeating: 0, count: 4).withUnsafeBytes { try file.write($0, at: 0) } }
        #expect(throws: closed) { try file.write([1], at: 0) }
        #expect(throws: closed) { _ = try file.size() }
        #expect(throws: closed) { try file.truncate(to: 0) }
        #expect(throws: closed) { try file.flush() }
        #expect(throws: closed) { try file.sync() }
        #expect(throws: closed) { _ = try file.compact() }
        #expect(throws: closed) { try file.discardUnwrittenChanges() }
        #expect(throws: closed) { _ = try file.makeView(0..<10, mode: .readOnly, faultAround: nil) }
        try file.close()  // a no-op
    }

    @Test func cacheWideCallsTakeBadValuesSafely() throws {
        let (cache, file) = try open()
        // A negative target is "as small as possible", not an error.
        cache.shrink(toBytes: -5)
        #expect(cache.statistics.residentBytes == 0)
        expectInvalid("interval") { try cache.startBackgroundCollapse(interval: .nanoseconds(1)) }
        #expect(try file.read(count: 10, at: 0) == [UInt8](repeating: 1, count: 10))
        // Past the end of a memory file's reach: a typed error, not a trap.
        expectInvalid("offset \(Int64(Int32.max) + 1) is outside a memory file") {
            try file.write([1], at: Int64(Int32.max) + 1)
            try file.flush()
        }
    }
}
