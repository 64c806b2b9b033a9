@_spi(FolioInternals) @testable import FolioCache
import FolioLoadKit
import FolioLocks
import FolioTestSupport
import Testing

/// The compressed tier through the engine: reclaim's first stage keeps cold
/// clean folios compressed in a tier held to its share of the budget; reads
/// and writes of their pages decompress them (keeping the copy until the
/// bytes change); the budget counts resident bytes; compression cuts Zipf's
/// misses; a corrupt block is dropped and the page read again from the
/// file; incompressible data is never kept compressed.
@Suite struct CompressionTierTests {
    static let pageSize = 4096
    /// 4 MiB of real text (the load tool's corpus, repeated).
    static let text: [UInt8] = {
        let corpus = (try? TextCorpus.shared.get().bytes) ?? []
        guard !corpus.isEmpty else { return [] }
        return (0..<(4 << 20)).map { corpus[$0 % corpus.count] }
    }()

    static func strategies() -> [any LockStrategy] {
        [PerPageBitLocking(), HybridFairLocking(), PerInodeLocking(), PerRangeLocking()]
    }

    /// A 1 MiB cache (order-4 folios, compression on) over a memory file
    /// holding `contents`, read once in order: readahead fills 64 KiB folios
    /// and the pressure compresses the cold ones.
    func setUp<S: LockStrategy>(_ strategy: S, _ contents: [UInt8], compression: Bool = true, policy: EvictionPolicyKind = .s3fifo) throws -> (PageCache<S>, CachedFile<S>, MemoryBackend) {
        let cache = try PageCache(strategy: strategy, configuration: .init(
            pageSize: Self.pageSize, capacity: 1 << 20, evictionPolicy: policy, maxFolioOrder: 4,
            compression: CompressionConfiguration(enabled: compression)))
        let backend = MemoryBackend(path: "compression-\(strategy.kind.rawValue)", contents: contents)
        let file = try cache.open(backend: backend)
        #expect(try file.read(count: contents.count, at: 0) == contents)
        return (cache, file, backend)
    }

    func textIsKeptCompressedAndReadsBack<S: LockStrategy>(_ strategy: S, _ policy: EvictionPolicyKind) throws {
        let (cache, file, backend) = try setUp(strategy, Self.text, policy: policy)
        let s = cache.statistics
        print("CompressionTierTests \(strategy.kind) \(policy): after one pass: compressed \(s.compressedFolios), resident \(s.residentBytes), logical \(s.logicalBytes), effective \(s.effectiveCapacity), evictions \(s.evictions)")
        #expect(s.readaheadFolios > 0)
        #expect(s.compressedFolios > 0, "\(strategy.kind): nothing compressed: \(s)")
        #expect(s.residentBytes + s.evictionOverheadBytes <= 1 << 20, "\(strategy.kind): over budget: \(s)")
        // The tier fills its share (0.8 of the budget) with the scan's cold
        // folios at ~2.5× each: about 2.2× in all; never much over its share.
        #expect(s.effectiveCapacity > 1.8, "\(strategy.kind) \(policy): \(s)")
        #expect(s.compressedBytes <= cache.tier.limit + (64 << 10), "\(strategy.kind) \(policy): the tier is over its share: \(s)")
        #expect(s.residentFolios == file.mapping.table.count, "\(strategy.kind) \(policy): policy + tier do not hold every cached folio: \(s)")
        // Every byte reads back, through compressed folios (decompressed) and
        // others; what was cached, compressed or not, is not read from the file.
        let cachedFolios = file.mapping.table.count
        let compressedBefore = s.compressedFolios
        let readsBefore = backend.ioCounts.reads
        for off in stride(from: 0, to: Self.text.count, by: 64 << 10).reversed() {
            #expect(try file.read(count: 64 << 10, at: Int64(off)) == Array(Self.text[off..<off + (64 << 10)]), "\(strategy.kind): bytes at \(off)")
        }
        let after = cache.statistics
        #expect(after.checksumFailures == 0)
        #expect(backend.ioCounts.reads - readsBefore < (Self.text.count >> 12) - 16 * cachedFolios + 16 * compressedBefore,
                "\(strategy.kind) \(policy): compressed folios were read from the file")
        // A write into a compressed folio decompresses it first.
        cache.shrink(toBytes: 512 << 10)
        try file.write([1, 2, 3], at: 5)
        #expect(try file.read(count: 8, at: 2) == [Self.text[2], Self.text[3], Self.text[4], 1, 2, 3, Self.text[8], Self.text[9]])
        try file.close()
        #expect(cache.statistics.residentBytes == 0 && cache.statistics.compressedFolios == 0, "\(strategy.kind): close left \(cache.statistics)")
    }

    @Test func textIsKeptCompressedAndReadsBack() throws {
        try #require(!Self.text.isEmpty, "the text corpus is not available")
        for s in Self.strategies() {
            for policy in [EvictionPolicyKind.s3fifo, .lru] { try textIsKeptCompressedAndReadsBack(s, policy) }
        }
    }

    @Test func randomBytesAreNotKeptCompressed() throws {
        var rng = SplitMix64(seed: testSeed())
        let random = (0..<(2 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let (cache, file, _) = try setUp(HybridFairLocking(), random)
        #expect(cache.statistics.compressedFolios == 0 && cache.statistics.evictions > 0, "\(cache.statistics)")
        #expect(try file.read(count: random.count, at: 0) == random)
    }

    @Test func compressionOffEvictsInstead() throws {
        let (cache, _, _) = try setUp(HybridFairLocking(), Self.text, compression: false)
        #expect(cache.statistics.compressedFolios == 0 && cache.statistics.logicalBytes == cache.statistics.residentBytes)
    }

    /// A flipped byte in a compressed block: the read returns the file's
    /// bytes, the failure is counted, the block is gone.
    func corruptBlockIsReread<S: LockStrategy>(_ strategy: S) throws {
        let (cache, file, _) = try setUp(strategy, Self.text)
        let (index, block) = try #require(file.mapping.compressedBlocks.withLock { $0.first })
        block.corruptByteForTesting(at: block.compressedCount / 2)
        let offset = Int(index) * Self.pageSize
        #expect(try file.read(count: 64 << 10, at: Int64(offset)) == Array(Self.text[offset..<offset + (64 << 10)]),
                "\(strategy.kind): a corrupt block gave wrong bytes")
        #expect(cache.statistics.checksumFailures == 1, "\(strategy.kind): \(cache.statistics)")
        #expect(file.mapping.compressedBlocks.withLock { $0[index] } == nil)
    }

    @Test func corruptBlocksAreDroppedAndReread() throws {
        try #require(!Self.text.isEmpty, "the text corpus is not available")
        for s in Self.strategies() { try corruptBlockIsReread(s) }
    }

    /// What the user feels: with a working set twice the budget, Zipf reads
    /// (skew 0.99, hot pages first, one page each) of a text file miss less
    /// with compression than without — the same seeded sequence through the
    /// public API, every byte checked. Random reads make one-page folios,
    /// which the tier compresses too (4 KiB of text: ~1.5×).
    func zipfMissesLessWithCompression<S: LockStrategy>(_ strategy: S, seed: UInt64) throws {
        let pages = 512  // 2 MiB, twice the budget
        let contents = Array(Self.text[0..<(pages * Self.pageSize)])
        var misses: [Bool: UInt64] = [:]
        for compression in [false, true] {
            let cache = try PageCache(strategy: strategy, configuration: .init(
                pageSize: Self.pageSize, capacity: 1 << 20, maxFolioOrder: 4,
                compression: CompressionConfiguration(enabled: compression, collapseInterval: .seconds(86_400))))
            let file = try cache.open(backend: MemoryBackend(path: "zipf-\(compression)", contents: contents))
            var rng = SplitMix(seed: seed)  // the load tool's generator and Zipf
            let zipf = Zipf(n: pages, skew: 0.99)
            for step in 0..<20_000 {
                let page = zipf.sample(&rng)
                let off = page * Self.pageSize
                let got = try file.read(count: 64, at: Int64(off))
                guard got[...] == contents[off..<off + 64] else {
                    Issue.record("\(strategy.kind) compression \(compression) seed \(seed): wrong bytes at page \(page), step \(step)")
                    return
                }
            }
            let s = cache.statistics
            misses[compression] = s.misses
            #expect(s.checksumFailures == 0 && s.residentBytes + s.evictionOverheadBytes <= (1 << 20) + Self.pageSize)
            if compression { #expect(s.compressions > 0 && s.decompressions > 0, "\(strategy.kind): \(s)") }
            try file.close()
        }
        let off = try #require(misses[false]), on = try #require(misses[true])
        print("CompressionTierTests zipf \(strategy.kind) seed \(seed): misses off \(off), on \(on)")
        #expect(Double(on) < Double(off) * 0.75, "\(strategy.kind) seed \(seed): compression did not cut misses: \(off) → \(on)")
    }

    @Test func zipfMissesLessWithCompression() throws {
        try #require(!Self.text.isEmpty, "the text corpus is not available")
        let seed = testSeed()
        for s in Self.strategies() { try zipfMissesLessWithCompression(s, seed: seed) }
    }

    /// The tier gives up its oldest folios while it is over its share: a
    /// small share holds few compressed bytes, and a second scan of a file
    /// four times the budget still reads every byte right.
    @Test func theTierKeepsToItsShare() throws {
        try #require(!Self.text.isEmpty, "the text corpus is not available")
        for share in [0.25, 1.0] {
            let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(
                pageSize: Self.pageSize, capacity: 1 << 20, maxFolioOrder: 4,
                compression: CompressionConfiguration(enabled: true, maximumShare: share, collapseInterval: .seconds(86_400))))
            let file = try cache.open(backend: MemoryBackend(path: "share-\(share)", contents: Self.text))
            for _ in 0..<2 { #expect(try file.read(count: Self.text.count, at: 0) == Self.text) }
            let s = cache.statistics
            #expect(s.compressedBytes <= cache.tier.limit + (64 << 10), "share \(share): \(s)")
            #expect(s.compressedBytes >= cache.tier.limit / 2, "share \(share): the tier did not fill: \(s)")
            #expect(s.residentFolios == file.mapping.table.count, "share \(share): \(s)")
            if share < 1 { #expect(s.evictions > 0, "share \(share): nothing left the tier: \(s)") }
            try file.close()
            #expect(cache.tier.bytes == 0 && cache.tier.count == 0, "share \(share): close left compressed folios")
        }
    }

    /// `keepCompressedCopy`: a decompressed folio keeps its block, and
    /// reclaim takes it back without compressing — until the bytes change:
    /// a write, a view's store and a truncate each drop it, and what reads
    /// back is the new bytes, never the copy's. Every charge is returned at
    /// close.
    func aKeptCopyIsReusedUntilTheBytesChange<S: LockStrategy>(_ strategy: S) throws {
        let size = 4 << 16  // four 64 KiB folios
        var model = Array(Self.text[0..<size])
        let cache = try PageCache(strategy: strategy, configuration: .init(
            pageSize: Self.pageSize, capacity: 1 << 20, maxFolioOrder: 4,
            compression: CompressionConfiguration(enabled: true, keepCompressedCopy: true, collapseInterval: .seconds(86_400))))
        let file = try cache.open(backend: MemoryBackend(path: "keep-\(strategy.kind.rawValue)", contents: model))
        func readAll(_ when: String) throws {
            #expect(try file.read(count: size, at: 0) == model, "\(strategy.kind): wrong bytes \(when)")
        }
        func compressAll() { cache.reclaim(toBytes: size / 2) }
        try readAll("at first")
        compressAll()
        var s = cache.statistics
        #expect(s.compressions == 4 && s.compressedFolios == 4 && s.copiesReused == 0, "\(strategy.kind): \(s)")
        try readAll("after the first decompression")
        s = cache.statistics
        #expect(s.decompressions == 4 && s.compressedFolios == 0 && s.residentBytes > size && s.logicalBytes == size,
                "\(strategy.kind): the copies are not kept and charged: \(s)")
        compressAll()
        s = cache.statistics
        #expect(s.compressions == 4 && s.copiesReused == 4 && s.compressedFolios == 4, "\(strategy.kind): the copies were not reused: \(s)")
        try readAll("after a reuse")

        // A write into folio 1, a view's store into folio 2, a truncate
        // through folio 3: each drops that folio's copy.
        try file.write([1, 2, 3], at: 70_000)
        model.replaceSubrange(70_000..<70_003, with: [1, 2, 3])
        let view = try file.map(0..<Int64(size), mode: .readWrite)
        try view.store([9, 9], at: 140_000)
        view.unmap()
        model.replaceSubrange(140_000..<140_002, with: [9, 9])
        try file.truncate(to: 200_000)
        try file.truncate(to: Int64(size))
        model.replaceSubrange(200_000..<size, with: repeatElement(0, count: size - 200_000))
        try readAll("after the changes")
        try file.flush()
        let reusedBefore = cache.statistics.copiesReused
        compressAll()
        s = cache.statistics
        // Folio 0 kept its copy; 1 and 2 are compressed anew; 3 (split by
        // the truncate) may be, in pieces.
        #expect(s.copiesReused - reusedBefore <= 1 && s.compressions >= 6, "\(strategy.kind): a changed folio reused its copy: \(s)")
        try readAll("after compressing the changed folios")
        compressAll()
        try readAll("after another round")
        try file.close()
        #expect(cache.statistics.residentBytes == 0, "\(strategy.kind): close left charges: \(cache.statistics)")
    }

    @Test func aKeptCopyIsReusedUntilTheBytesChange() throws {
        try #require(!Self.text.isEmpty, "the text corpus is not available")
        for s in Self.strategies() { try aKeptCopyIsReusedUntilTheBytesChange(s) }
    }
}
