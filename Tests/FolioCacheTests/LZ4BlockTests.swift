import FolioCache
import FolioTestSupport
import Testing

@Suite struct LZ4BlockTests {
    static func mixedPage(_ size: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<size).map { i in i % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(truncatingIfNeeded: i / 64) }
    }

    @Test(arguments: [512, 4096, 65536])
    func roundTripOfCompressibleData(size: Int) throws {
        let page = Self.mixedPage(size, seed: 42)
        let packed = try #require(try LZ4Block.compress(page))
        #expect(packed.count < page.count)
        let back = try LZ4Block.decompress(packed, size: page.count)
        #expect(back == page)
    }

    @Test func zerosShrinkToAlmostNothing() throws {
        let packed = try #require(try LZ4Block.compress([UInt8](repeating: 0, count: 65536)))
        #expect(packed.count < 400)
        #expect(try LZ4Block.decompress(packed, size: 65536) == [UInt8](repeating: 0, count: 65536))
    }

    @Test func randomDataIsReportedIncompressible() throws {
        var rng = SplitMix64(seed: 7)
        let noise = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        #expect(try LZ4Block.compress(noise) == nil)
        #expect(try LZ4Block.bound(4096) > 4096)
    }

    @Test func corruptInputIsATypedError() throws {
        let page = Self.mixedPage(4096, seed: 1)
        var packed = try #require(try LZ4Block.compress(page))
        #expect(throws: LZ4Error.corrupt(expectedSize: 4096)) { try LZ4Block.decompress([1, 2, 3, 250, 251], size: 4096) }
        // Right bytes, wrong expected size.
        #expect(throws: LZ4Error.corrupt(expectedSize: 4095)) { try LZ4Block.decompress(packed, size: 4095) }
        // Truncated block.
        packed.removeLast(packed.count / 2)
        #expect(throws: LZ4Error.corrupt(expectedSize: 4096)) { try LZ4Block.decompress(packed, size: 4096) }
        #expect(throws: LZ4Error.self) { try LZ4Block.decompress([], size: 4096) }
        #expect(throws: LZ4Error.inputTooLarge(-1)) { try LZ4Block.bound(-1) }
    }
}
