@_spi(FolioInternals) @testable import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing

/// `CompressedBlock`: what the engine keeps for a cold, clean large folio.
/// Round trips at every folio size, refusal of what does not pay, the
/// threshold at its boundary, corruption caught by the checksum before LZ4
/// writes anything, and LZ4's bounds checks on bytes that pass the checksum.
@Suite struct CompressedBlockTests {
    /// Every folio size the engine can make: 512 B … 2 MiB.
    static let folioSizes = (9...21).map { 1 << $0 }

    /// Real text: the regular files of /usr/share/common-licenses in sorted
    /// name order (symlinks skipped: they repeat other files), concatenated —
    /// the corpus of docs/performance.md, "Compressed blocks". A machine
    /// without them gets seeded word salad instead (also compressible).
    static let corpus: [UInt8] = {
        let dir = "/usr/share/common-licenses"
        let fm = FileManager.default
        var bytes: [UInt8] = []
        for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
            let path = dir + "/" + name
            guard (try? fm.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular,
                  let data = fm.contents(atPath: path) else { continue }
            bytes += data
        }
        if bytes.count >= 64 << 10 { return bytes }
        var rng = SplitMix64(seed: 1)
        let words = ["the", "license", "software", "any", "of", "to", "you", "copy", "distribute", "work", "or", "and"]
        var salad: [UInt8] = []
        while salad.count < 256 << 10 { salad += Array((words[Int(rng.next() % UInt64(words.count))] + " ").utf8) }
        return salad
    }()

    /// `count` bytes of text starting `offset` bytes into the corpus
    /// (repeated as often as needed).
    static func text(_ count: Int, offset: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var at = offset % corpus.count
        while out.count < count {
            let run = min(count - out.count, corpus.count - at)
            out += corpus[at..<(at + run)]
            at = 0
        }
        return out
    }

    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { bytes in
            var i = 0
            while i < count {
                withUnsafeBytes(of: rng.next()) { word in
                    for b in word where i < count { bytes[i] = b; i += 1 }
                }
            }
        }
        return out
    }

    static func compress(_ bytes: [UInt8], minimumSaving: Double) -> CompressedBlock? {
        bytes.withUnsafeBytes { CompressedBlock.compress($0, minimumSaving: minimumSaving) }
    }

    /// Decompresses into a buffer pre-filled with 0x5A; returns the buffer
    /// and the error, if any.
    static func decompress(_ block: CompressedBlock, count: Int? = nil) -> ([UInt8], CompressionError?) {
        var out = [UInt8](repeating: 0x5A, count: count ?? block.uncompressedCount)
        let error: CompressionError? = out.withUnsafeMutableBytes { dst in
            do throws(CompressionError) { try block.decompress(into: dst); return nil } catch { return error }
        }
        return (out, error)
    }

    // MARK: Round trips

    @Test(arguments: folioSizes)
    func roundTripOfText(size: Int) throws {
        let page = Self.text(size, offset: size / 3)
        let block = try #require(Self.compress(page, minimumSaving: 0), "\(size) B of text did not compress at all")
        #expect(block.uncompressedCount == size)
        #expect(block.residentBytes <= size)
        #expect(block.residentBytes == CompressedBlock.residentBytes(compressedCount: block.compressedCount))
        #expect(block.residentBytes >= block.compressedCount + CompressedBlock.fixedOverheadBytes)
        #expect(block.mallocReportedBytesForTesting <= block.residentBytes + 16)
        let (back, error) = Self.decompress(block)
        #expect(error == nil)
        #expect(back == page)
    }

    /// The engine's default (a quarter saved) holds for text at the sizes
    /// large folios have; 64 KiB of this text saves more than half.
    @Test(arguments: [4096, 65536, 1 << 21])
    func textSavesAQuarterAtTheDefault(size: Int) throws {
        let block = try #require(Self.compress(Self.text(size), minimumSaving: 0.25))
        #expect(block.residentBytes <= size * 3 / 4)
        if size == 65536 { #expect(block.residentBytes < size / 2) }
    }

    @Test func zerosShrinkToAlmostNothing() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 21)
        let block = try #require(Self.compress(zeros, minimumSaving: 0.99))
        #expect(block.residentBytes < 10_000)
        #expect(Self.decompress(block) == (zeros, nil))
    }

    /// `residentBytes` is glibc's arithmetic, not a measurement: check it
    /// against what malloc reports at every small size and around the mmap
    /// threshold. A heap chunk is the charge or 16 bytes more (a reused free
    /// chunk glibc would not split); a request that may be mmap'd is charged
    /// whole pages, at most a page above what malloc took.
    ///
    /// Under AddressSanitizer (.ci/asan) malloc is ASan's allocator, not
    /// glibc's, and `malloc_usable_size` reports the request itself: only the
    /// fixed charges below are checked there.
    @Test func residentBytesIsWhatMallocTakes() {
        let offset = CompressedBlock.fixedOverheadBytes - CompressedBlock.mallocChunkWordBytes
        let threshold = CompressedBlock.mallocMmapThreshold - offset
        let sizes = Array(1...600) + Array((threshold - 40)...(threshold + 40)) + [300_000, 1 << 20, 1 << 21]
        for n in sizes where !Self.underAddressSanitizer {
            let block = CompressedBlock(compressedBytesForTesting: [UInt8](repeating: 7, count: n), uncompressedCount: 1 << 22)
            let reported = block.mallocReportedBytesForTesting
            let charged = block.residentBytes
            #expect(reported <= charged + 16, "\(n) bytes: charged \(charged), malloc \(reported)")
            if charged < CompressedBlock.mallocMmapThreshold {
                #expect(reported >= charged, "\(n) bytes: charged \(charged), malloc \(reported)")
            } else {
                #expect(charged < reported + CompressedBlock.pageSize + 16, "\(n) bytes: charged \(charged), malloc \(reported)")
            }
        }
        #expect(CompressedBlock.residentBytes(compressedCount: 1) == 48)  // 36 + 1 + 8 → 48
        #expect(CompressedBlock.residentBytes(compressedCount: 24) == 80)  // 36 + 24 + 8 → 80
    }

    /// Whether this process runs with ASan's allocator (its runtime is
    /// linked in and exports `__asan_init`).
    static let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil

    // MARK: Refusal and the threshold

    @Test(arguments: folioSizes)
    func randomDataIsRefused(size: Int) {
        #expect(Self.compress(Self.random(size, seed: UInt64(size)), minimumSaving: 0) == nil)
    }

    @Test func emptySourceIsRefused() {
        #expect(CompressedBlock.compress(UnsafeRawBufferPointer(start: nil, count: 0), minimumSaving: 0) == nil)
    }

    /// At the boundary: a saving that the block's resident bytes meet
    /// exactly is accepted, one byte more is refused. R is the block's
    /// resident size; ⌊n × (1 − s)⌋ = R accepts, = R − 1 refuses.
    @Test(arguments: [512, 4096, 65536, 1 << 20])
    func minimumSavingIsRespectedAtTheBoundary(size: Int) throws {
        let page = Self.text(size)
        let resident = try #require(Self.compress(page, minimumSaving: 0)).residentBytes
        let n = Double(size)
        let exact = 1 - (Double(resident) + 0.5) / n      // allows exactly `resident`
        let oneMore = 1 - (Double(resident) - 0.5) / n    // allows `resident - 1`
        #expect(CompressedBlock.maximumResidentBytes(uncompressedCount: size, minimumSaving: exact) == resident)
        #expect(CompressedBlock.maximumResidentBytes(uncompressedCount: size, minimumSaving: oneMore) == resident - 1)
        let accepted = try #require(Self.compress(page, minimumSaving: exact), "refused at the exact saving")
        #expect(accepted.residentBytes == resident)
        #expect(Self.compress(page, minimumSaving: oneMore) == nil, "accepted one byte short of the saving")
    }

    @Test func theSavingCountsTheMetadataNotJustLZ4() throws {
        // Compressed bytes alone would save a quarter; with the block's
        // metadata they do not. Find such a size-s pair from the LZ4 output.
        let page = Self.text(4096)
        let lz4 = try #require(try LZ4Block.compress(page)).count
        let saving = 1 - (Double(lz4) + 1) / 4096  // LZ4 output alone meets it
        #expect(CompressedBlock.maximumResidentBytes(uncompressedCount: 4096, minimumSaving: saving) >= lz4)
        #expect(Self.compress(page, minimumSaving: saving) == nil)
    }

    // MARK: Corruption

    /// Every flipped byte — the first, middle and last compressed byte and
    /// each of the eight checksum bytes — is caught by the checksum, and the
    /// destination is not touched. Flipping it back makes the block whole
    /// again (the hook changes exactly that byte).
    @Test func aFlippedByteIsAChecksumMismatchAndWritesNothing() throws {
        let page = Self.text(65536, offset: 12345)
        let probe = try #require(Self.compress(page, minimumSaving: 0.25))
        let c = probe.compressedCount
        let offsets = [0, 1, c / 2, c - 1] + (c..<(c + CompressedBlock.checksumByteCount)).map { $0 }
        for offset in offsets {
            let block = try #require(Self.compress(page, minimumSaving: 0.25))
            block.corruptByteForTesting(at: offset)
            let (out, error) = Self.decompress(block)
            #expect(error == .checksumMismatch, "offset \(offset) of \(c) + 8")
            #expect(out.allSatisfy { $0 == 0x5A }, "offset \(offset): the destination was written")
            block.corruptByteForTesting(at: offset)
            #expect(Self.decompress(block) == (page, nil), "offset \(offset): flipping back did not restore")
        }
    }

    @Test func theWrongDestinationSizeIsASizeMismatchAndWritesNothing() throws {
        let block = try #require(Self.compress(Self.text(8192), minimumSaving: 0.25))
        for size in [0, 4096, 8191, 8193, 16384] {
            let (out, error) = Self.decompress(block, count: size)
            #expect(error == .sizeMismatch(expected: 8192, actual: size))
            #expect(out.allSatisfy { $0 == 0x5A })
        }
    }

    /// Bytes that pass the checksum but are not a valid LZ4 block of the
    /// stated size — garbage, truncations, trailing junk, the wrong size —
    /// are `.corrupt`, and LZ4 writes nothing outside the destination.
    @Test func garbageAndTruncatedBlocksAreCorruptNeverACrash() throws {
        let page = Self.text(4096, offset: 777)
        let good = try #require(Self.compress(page, minimumSaving: 0)).compressedBytesForTesting
        var cases: [(String, [UInt8], Int)] = [
            ("trailing junk", good + [0, 1, 2, 3], 4096),
            ("expands short", good, 4097),
            ("expands long", good, 4095),
            ("one byte", [0xF0], 4096),
            ("all 0xFF", [UInt8](repeating: 0xFF, count: 300), 4096),
            ("huge literal length", [0xF0] + [UInt8](repeating: 0xFF, count: 64), 4096),
        ]
        for cut in [1, 2, good.count / 4, good.count / 2, good.count - 1] {
            cases.append(("truncated to \(cut)", Array(good.prefix(cut)), 4096))
        }
        var rng = SplitMix64(seed: 99)
        for i in 0..<200 {
            let length = 1 + Int(rng.next() % 2000)
            cases.append(("garbage \(i)", Self.random(length, seed: rng.next()), 1 + Int(rng.next() % 8192)))
        }
        for (name, bytes, size) in cases {
            let block = CompressedBlock(compressedBytesForTesting: bytes, uncompressedCount: size)
            // The destination sits inside guard bytes that must stay intact.
            let guardBytes = 4096
            var arena = [UInt8](repeating: 0xA5, count: size + 2 * guardBytes)
            let error: CompressionError? = arena.withUnsafeMutableBytes { all in
                let dst = UnsafeMutableRawBufferPointer(rebasing: all[guardBytes..<(guardBytes + size)])
                do throws(CompressionError) { try block.decompress(into: dst); return nil } catch { return error }
            }
            #expect(error == .corrupt, "\(name): \(String(describing: error))")
            #expect(arena.prefix(guardBytes).allSatisfy { $0 == 0xA5 } && arena.suffix(guardBytes).allSatisfy { $0 == 0xA5 },
                    "\(name): LZ4 wrote outside the destination")
        }
        // And the untouched bytes do decompress (the cases above are wrong
        // for the reason named, not because the helper is broken).
        let block = CompressedBlock(compressedBytesForTesting: good, uncompressedCount: 4096)
        #expect(Self.decompress(block) == (page, nil))
    }

    // MARK: Randomized and concurrent

    /// Random mixtures of text, noise and zeros at random folio sizes and
    /// savings: an accepted block meets its saving and round-trips; a
    /// refused one really could not have met it (bare LZ4's output, charged
    /// as a block, would not fit); a random flip is caught.
    @Test func randomizedAgainstBareLZ4() throws {
        let seed = testSeed()
        print("randomizedAgainstBareLZ4 FOLIO_SEED=\(seed)")
        var rng = SplitMix64(seed: seed)
        for round in 0..<300 {
            let size = 1 << (9 + Int(rng.next() % 10))  // 512 B … 128 KiB
            var page: [UInt8] = []
            while page.count < size {
                let run = min(size - page.count, 1 + Int(rng.next() % UInt64(size)))
                switch rng.next() % 3 {
                case 0: page += Self.text(run, offset: Int(rng.next() % UInt64(Self.corpus.count)))
                case 1: page += Self.random(run, seed: rng.next())
                default: page += [UInt8](repeating: 0, count: run)
                }
            }
            let saving = Double(rng.next() % 900) / 1000
            let limit = CompressedBlock.maximumResidentBytes(uncompressedCount: size, minimumSaving: saving)
            let context = "round \(round), size \(size), saving \(saving), FOLIO_SEED=\(seed)"
            if let block = Self.compress(page, minimumSaving: saving) {
                #expect(block.residentBytes <= limit, "\(context)")
                #expect(block.residentBytes == CompressedBlock.residentBytes(compressedCount: block.compressedCount), "\(context)")
                #expect(Self.decompress(block) == (page, nil), "\(context)")
                block.corruptByteForTesting(at: Int(rng.next() % UInt64(block.compressedCount + 8)))
                #expect(Self.decompress(block).1 == .checksumMismatch, "\(context)")
            } else if let lz4 = try LZ4Block.compress(page) {
                let resident = CompressedBlock.residentBytes(compressedCount: lz4.count)
                #expect(resident > limit, "\(context): refused although \(lz4.count) LZ4 bytes (\(resident) resident) fit in \(limit)")
            }
        }
    }

    /// Threads compressing at once each use their own scratch buffer (a
    /// shared one would mix their bytes): 64 KiB blocks use the retained
    /// buffer, 512 KiB ones a per-call one.
    @Test func threadsCompressAtOnceWithoutSharingScratch() {
        let failures = Counter()
        runThreads(4) { t in
            for i in 0..<40 {
                let size = (i + t) % 5 == 0 ? 512 << 10 : 64 << 10
                let page = Self.text(size, offset: t * 10_007 + i * 131)
                guard let block = Self.compress(page, minimumSaving: 0.25), Self.decompress(block) == (page, nil) else {
                    failures.add()
                    continue
                }
            }
        }
        #expect(failures.value == 0)
    }
}

/// A thread-safe tally for the concurrent test.
private final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
