import FolioCache
import FolioTestSupport
import Foundation
import Testing

/// Views through the public API: `Int64` offsets at their boundaries
/// (negative, the view's end, the largest values, a view more than 4 GiB
/// into a file), throwing closures (typed and untyped, in place and on a
/// copy: the error comes out as thrown, the pages are unlocked, changes
/// made before the throw are kept), generic stores.
@Suite struct ViewAccessTests {
    static let pageSize = 4096

    struct Stop: Error, Equatable { let at: Int }

    func file(_ kind: LockStrategyKind, pages: Int = 4) throws -> AnyCachedFile {
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let file = try cache.open(backend: MemoryBackend(path: "view"))
        for p in 0..<pages { try file.write([UInt8](repeating: UInt8(p + 1), count: Self.pageSize), at: Int64(p * Self.pageSize)) }
        return file
    }

    @Test(arguments: testedStrategies)
    func offsetsAreCheckedAtTheirBoundaries(_ kind: LockStrategyKind) throws {
        let file = try file(kind)
        let view = try file.map(0..<Int64(2 * Self.pageSize), mode: .readWrite)
        let end = Int64(view.count)
        func expectInvalid(_ what: String, _ call: () throws -> Void) {
            do {
                try call()
                Issue.record("\(kind): \(what): no error")
            } catch let error as FolioError {
                guard case .invalidArgument(let message) = error else { Issue.record("\(kind): \(what): \(error)"); return }
                #expect(message.contains("do not lie inside the view"), "\(message)")
            } catch { Issue.record("\(kind): \(what): \(error)") }
        }
        for offset: Int64 in [-1, .min, end + 1, .max] {
            expectInvalid("copy at \(offset)") { _ = try view.copyBytes(at: offset, count: 1) }
            expectInvalid("load at \(offset)") { _ = try view.load(at: offset, as: UInt8.self) }
            expectInvalid("in place at \(offset)") { try view.withUnsafeBytes(at: offset, count: 1) { _ in () } }
            expectInvalid("store at \(offset)") { try view.store([1], at: offset) }
            expectInvalid("change at \(offset)") { try view.withUnsafeMutableBytes(at: offset, count: 1) { _ in () } }
        }
        expectInvalid("a byte past the end") { _ = try view.copyBytes(at: end - 1, count: 2) }
        expectInvalid("count -1") { _ = try view.copyBytes(at: 0, count: -1) }
        expectInvalid("count Int.max") { _ = try view.copyBytes(at: 1, count: .max) }
        expectInvalid("a UInt64 at the last byte") { _ = try view.load(at: end - 1, as: UInt64.self) }
        // At the end: nothing, without error; the last byte, the last word.
        #expect(try view.copyBytes(at: end, count: 0).isEmpty)
        try view.withUnsafeBytes(at: end, count: 0) { #expect($0.isEmpty) }
        try view.store([UInt8](), at: end)
        #expect(try view.copyBytes(at: end - 1, count: 1) == [2])
        #expect(try view.load(at: end - 8, as: UInt64.self) == 0x0202_0202_0202_0202)
        try view.store([9, 9], at: end - 2)
        #expect(try file.read(count: 2, at: end - 2) == [9, 9])
    }

    /// A view's file offsets are `Int64` all the way: one mapped 5 GiB into
    /// a (sparse) file reads and writes its bytes there.
    @Test func aViewFarIntoAFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
        let file = try cache.open(path: dir + "/sparse")
        let far: Int64 = 5 << 30
        try file.write(Data([1, 2, 3, 4]), at: far + 10)
        let view = try file.map(far..<far + Int64(Self.pageSize), mode: .readWrite)
        #expect(try view.copyBytes(at: 10, count: 4) == [1, 2, 3, 4])
        try view.store([7][...], at: 0)
        #expect(try file.read(count: 1, at: far) == [7])
        try file.close()
    }

    @Test(arguments: testedStrategies)
    func closuresMayThrow(_ kind: LockStrategyKind) throws {
        let file = try file(kind)
        let view = try file.map(0..<Int64(4 * Self.pageSize), mode: .readWrite)
        // Typed: a FolioError-throwing closure keeps the accessor typed.
        func typedRead() throws(FolioError) -> UInt8 {
            try view.withUnsafeBytes(at: 10, count: 4) { (bytes) throws(FolioError) -> UInt8 in
                if bytes[0] == 0 { throw .invalidArgument("zero") }
                return bytes[0]
            }
        }
        #expect(try typedRead() == 1)
        // Untyped: the closure's own error comes out as thrown, in place
        // (one page) and on a copy (two pages).
        for (offset, count) in [(Int64(100), 8), (Int64(Self.pageSize - 4), 8)] {
            #expect(throws: Stop(at: Int(offset))) {
                try view.withUnsafeBytes(at: offset, count: count) { _ in throw Stop(at: Int(offset)) }
            }
            // Changes made before the throw are kept and the page is dirty
            // (in place as on a copy); the error is the closure's.
            #expect(throws: Stop(at: Int(offset))) {
                try view.withUnsafeMutableBytes(at: offset, count: count) { bytes in
                    bytes[0] = 0xEE
                    throw Stop(at: Int(offset))
                }
            }
            #expect(try file.read(count: 1, at: offset) == [0xEE], "\(kind): a change before the throw was lost")
            // The page was unlocked: a write of it, and another change, go on.
            try file.write([0xDD], at: offset + 1)
            try view.withUnsafeMutableBytes(at: offset, count: 1) { $0[0] = 0xCC }
            #expect(try file.read(count: 2, at: offset) == [0xCC, 0xDD])
        }
        // A FolioError thrown by the closure is that error, typed.
        func typedWrite() throws(FolioError) {
            try view.withUnsafeMutableBytes(at: 0, count: 1) { (_) throws(FolioError) in throw .closed(path: "inner") }
        }
        #expect(throws: FolioError.closed(path: "inner")) { try typedWrite() }
        // The cache's own errors come out of the untyped form as FolioError.
        #expect(throws: FolioError.self) { try view.withUnsafeBytes(at: -1, count: 1) { _ in throw Stop(at: -1) } }
        try file.flush()
        #expect(try file.read(count: 1, at: 100) == [0xCC])
        // Through the protocol, the same.
        let erased: any FileViewProtocol = view
        #expect(throws: Stop(at: 1)) { try erased.withUnsafeBytes(at: 0, count: 1) { _ in throw Stop(at: 1) } }
        #expect(try erased.withUnsafeBytes(at: 0, count: 1) { $0[0] } == 1)
    }

    @Test func storesTakeAnyCollection() throws {
        let file = try file(.perRange)
        let view = try file.map(0..<Int64(2 * Self.pageSize), mode: .readWrite)
        try view.store([1, 2, 3][1...], at: 0)
        try view.store(Data([4, 5]), at: 2)
        try view.store(repeatElement(6, count: 3), at: Int64(Self.pageSize) - 1)  // across pages, no contiguous storage
        #expect(try view.copyBytes(at: 0, count: 4) == [2, 3, 4, 5])
        #expect(try file.read(count: 3, at: Int64(Self.pageSize) - 1) == [6, 6, 6])
        #expect(throws: FolioError.self) { try view.store(Data([1]), at: -1) }
        let readOnly = try file.map(0..<8)
        #expect(throws: FolioError.readOnlyView(path: "view")) { try readOnly.store(Data([1]), at: 0) }
    }
}
