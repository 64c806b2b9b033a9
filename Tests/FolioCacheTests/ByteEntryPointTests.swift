import FolioCache
import Foundation
import Testing

/// The generic byte entry points (`CachedFile+Bytes.swift`) through the
/// public API, on a concrete `CachedFile` and on a run-time-chosen
/// `AnyCachedFile`: every collection type in and out, bytes round-tripped
/// across pages and EOF, bad input typed.
@Suite struct ByteEntryPointTests {
    static let pageSize = 512

    func memoryFile(_ kind: LockStrategyKind = .hybridFair) throws -> AnyCachedFile {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        return try cache.open(backend: MemoryBackend(path: "bytes"))
    }

    /// Bytes 0, 1, 2, … (mod 251) of length n.
    func pattern(_ n: Int, seed: Int = 0) -> [UInt8] { (0..<n).map { UInt8(($0 + seed) % 251) } }

    @Test(arguments: testedStrategies)
    func everyCollectionGoesIn(_ kind: LockStrategyKind) throws {
        let file = try memoryFile(kind)
        let bytes = pattern(3 * Self.pageSize + 17)
        var at: Int64 = 100  // unaligned, spans pages
        func check(_ what: String, _ expected: [UInt8]) throws {
            #expect(try file.read(count: expected.count, at: at) == expected, "\(kind): \(what)")
            at += Int64(expected.count)
        }
        try file.write(bytes, at: at); try check("[UInt8]", bytes)
        try file.write(bytes[7..<900], at: at); try check("ArraySlice", Array(bytes[7..<900]))
        try file.write(ContiguousArray(bytes), at: at); try check("ContiguousArray", bytes)
        try file.write(Data(bytes), at: at); try check("Data", bytes)
        try file.write(Data(bytes)[5..<600], at: at); try check("Data slice", Array(bytes[5..<600]))
        try bytes.withUnsafeBytes { try file.write($0, at: at) }; try check("UnsafeRawBufferPointer", bytes)
        var mutable = bytes
        try mutable.withUnsafeMutableBytes { try file.write($0, at: at) }; try check("UnsafeMutableRawBufferPointer", bytes)
        try bytes.withUnsafeBufferPointer { try file.write($0, at: at) }; try check("UnsafeBufferPointer<UInt8>", bytes)
        // No contiguous storage: copied once.
        try file.write(bytes.lazy.map { $0 ^ 0xFF }, at: at); try check("lazy map", bytes.map { $0 ^ 0xFF })
        try file.write(repeatElement(UInt8(9), count: 700), at: at); try check("Repeated", [UInt8](repeating: 9, count: 700))
        try file.write(EmptyCollection<UInt8>(), at: at); try check("empty", [])
        #expect(try file.size() == at)
    }

    @Test(arguments: testedStrategies)
    func everyCollectionComesOut(_ kind: LockStrategyKind) throws {
        let file = try memoryFile(kind)
        let bytes = pattern(2 * Self.pageSize + 300, seed: 3)
        try file.write(bytes, at: 0)
        let size = bytes.count
        // New collections: [UInt8], ContiguousArray, Data; short at EOF,
        // empty past it, sized by the file whatever `count` says.
        #expect(try file.read(count: 700, at: 50, as: [UInt8].self) == Array(bytes[50..<750]))
        #expect(try file.read(count: 700, at: 50, as: ContiguousArray<UInt8>.self) == ContiguousArray(bytes[50..<750]))
        #expect(try file.read(count: 700, at: 50, as: Data.self) == Data(bytes[50..<750]), "\(kind): Data")
        #expect(try file.read(count: 1000, at: Int64(size - 10), as: Data.self) == Data(bytes[(size - 10)...]))
        #expect(try file.read(count: Int.max, at: Int64(size - 10), as: ContiguousArray<UInt8>.self).count == 10)
        #expect(try file.read(count: 5, at: Int64(size), as: Data.self).isEmpty)
        #expect(try file.read(count: 5, at: Int64(size) + 1000, as: [UInt8].self).isEmpty)
        // Into a caller's collection, from its start; the rest untouched.
        var array = [UInt8](repeating: 0xAA, count: 600)
        #expect(try file.read(into: &array, at: 10) == 600 && array == Array(bytes[10..<610]))
        var tail = [UInt8](repeating: 0xAA, count: 100)
        #expect(try file.read(into: &tail, at: Int64(size - 40)) == 40)
        #expect(Array(tail[..<40]) == Array(bytes[(size - 40)...]) && tail[40...].allSatisfy { $0 == 0xAA })
        var slice = [UInt8](repeating: 0, count: 1000)[200..<500]
        #expect(try file.read(into: &slice, at: 1) == 300 && Array(slice) == Array(bytes[1..<301]))
        var data = Data(repeating: 0xAA, count: 64)
        #expect(try file.read(into: &data, at: 5) == 64 && data == Data(bytes[5..<69]), "\(kind): into Data")
        var contiguous = ContiguousArray<UInt8>(repeating: 0, count: 8)
        #expect(try file.read(into: &contiguous, at: 0) == 8 && Array(contiguous) == Array(bytes[..<8]))
        var empty: [UInt8] = []
        #expect(try file.read(into: &empty, at: 0) == 0)
    }

    @Test func theConcreteFileHasTheSameEntryPoints() throws {
        let cache = try PageCache(strategy: PerRangeLocking(), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let file = try cache.open(backend: MemoryBackend(path: "concrete"))
        let bytes = pattern(1500)
        try file.write(bytes[...], at: 3)
        try file.write(Data([1, 2]), at: 0)
        var out = [UInt8](repeating: 0, count: 1503)
        #expect(try file.read(into: &out, at: 0) == 1503)
        #expect(out == [1, 2, 0] + bytes)
        #expect(try file.read(count: 3, at: 0, as: Data.self) == Data([1, 2, 0]))
    }

    @Test func badInputGetsTypedErrors() throws {
        let file = try memoryFile()
        try file.write(pattern(100), at: 0)
        func expectInvalid(_ what: String, _ call: () throws -> Void) {
            do {
                try call()
                Issue.record("\(what): no error")
            } catch let error as FolioError {
                guard case .invalidArgument = error else { Issue.record("\(what): \(error)"); return }
            } catch { Issue.record("\(what): \(error)") }
        }
        var buffer = [UInt8](repeating: 0, count: 4)
        var data = Data(count: 4)
        expectInvalid("write slice at -1") { try file.write(pattern(4)[...], at: -1) }
        expectInvalid("write Data at Int64.min") { try file.write(Data([1]), at: .min) }
        expectInvalid("write lazy at -1") { try file.write(pattern(4).lazy.map { $0 }, at: -1) }
        expectInvalid("write past the largest offset") { try file.write(Data([1, 2]), at: Int64.max - 1) }
        expectInvalid("read into [UInt8] at -1") { _ = try file.read(into: &buffer, at: -1) }
        expectInvalid("read into Data at -1") { _ = try file.read(into: &data, at: -1) }
        expectInvalid("read as Data at -1") { _ = try file.read(count: 1, at: -1, as: Data.self) }
        expectInvalid("read as Data count -1") { _ = try file.read(count: -1, at: 0, as: Data.self) }
        expectInvalid("read as [UInt8] count -1") { _ = try file.read(count: -1, at: 0, as: [UInt8].self) }
        #expect(try file.read(count: 100, at: 0) == pattern(100), "a rejected call changed the file")
        try file.close()
        #expect(throws: FolioError.closed(path: "bytes")) { try file.write(Data([1]), at: 0) }
        #expect(throws: FolioError.closed(path: "bytes")) { _ = try file.read(count: 1, at: 0, as: Data.self) }
    }
}
